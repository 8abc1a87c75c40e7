// Package model holds Go types for the 1EdTech Comprehensive Learner Record
// 2.0 and Open Badges 3.0 data model (ClrCredential, AchievementCredential,
// Achievement, Result, Profile, ...), built on W3C Verifiable Credentials.
//
// JSON round-trips losslessly: decode then encode yields the same JSON value
// (member order aside). Unknown properties, and known ones whose value has a
// shape the type does not foresee (a JSON-LD language map where a string is
// expected, a number where an object is expected, null, ""), are kept
// verbatim in each object's Extra map. Properties JSON-LD lets be one value or
// an array are OneOrMany values that remember their form; issuer and image,
// which may be an IRI or an object, are IRIOr values. Date-times are kept as
// the strings the document carries (FormatTime and ParseTime convert).
//
// The model does not validate: package validate checks structure against the
// specification and the official JSON Schemas.
package model
