package validate

// Where LevelSpec differs from LevelSchema (the official JSON Schemas), and why.
//
// The schemas are "JSON-LD adaptations": almost every property may be a string
// or a language map, and a few classes are checked loosely. The
// specification text (OB 3.0 / CLR 2.0 / VC data model) is stricter in these
// places, and LevelSpec follows it:
//
//  1. @context must be an array (the schemas accept a single string or
//     object). Its first item may also be the VC 1.1 context
//     https://www.w3.org/2018/credentials/v1 (the schemas accept only VC
//     2.0); such a credential needs issuanceDate instead of validFrom, and
//     expirationDate must be a date-time. Further items must be absolute IRIs
//     or inline context objects.
//  2. type: a single string is accepted only if it is the one required IRI,
//     so a credential (which needs VerifiableCredential and its class) must
//     use an array; language maps are not type values. The schemas accept any
//     single string.
//  3. id, url, targetUrl, sourceId, targetId, verificationMethod, a
//     resultDescription reference, credentialSubject.id and an issuer given
//     as a string must be absolute URIs (the schemas accept any string or
//     language map). Language maps stay allowed for human-readable text.
//  4. An issuer object must be a Profile (the schemas also accept any
//     language map, for example {"id": "x"}).
//  5. AchievementCredential requires name (OB 3.0 §B.1.1; the schema omits it).
//  6. AchievementSubject needs id or identifier; Criteria needs id or
//     narrative (both "MUST" in OB 3.0, not expressible in these schemas).
//  7. Extension values of achievementType, resultType, targetType,
//     identityType and identifierType must start with "ext:" (the schemas use
//     an unanchored pattern that any string containing "ext:x" matches).
//  8. Embedded credentials (ClrSubject.verifiableCredential) are validated as
//     their own class — AchievementCredential, ClrCredential or
//     EndorsementCredential — recursively, not just as generic Verifiable
//     Credentials as the CLR schema does.
//  9. Type names of proofs, credentialSchema, credentialStatus, refreshService
//     and termsOfUse must be non-empty strings.
//
// Everything the schemas check, LevelSpec checks too, except that VC 1.1
// credentials (rule 1) pass LevelSpec and fail LevelSchema.
