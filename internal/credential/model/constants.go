package model

// JSON-LD contexts, in the order a credential lists them.
const (
	ContextVC2          = "https://www.w3.org/ns/credentials/v2"
	ContextVC1          = "https://www.w3.org/2018/credentials/v1"
	ContextOB3          = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
	ContextCLR2         = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
	ContextOBExtensions = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
)

// Type IRIs of credentials and of the classes inside them.
const (
	TypeVerifiableCredential  = "VerifiableCredential"
	TypeClrCredential         = "ClrCredential"
	TypeAchievementCredential = "AchievementCredential"
	TypeOpenBadgeCredential   = "OpenBadgeCredential"
	TypeEndorsementCredential = "EndorsementCredential"
	TypeClrSubject            = "ClrSubject"
	TypeAchievementSubject    = "AchievementSubject"
	TypeEndorsementSubject    = "EndorsementSubject"
	TypeAchievement           = "Achievement"
	TypeAlignment             = "Alignment"
	TypeAssociation           = "Association"
	TypeResult                = "Result"
	TypeResultDescription     = "ResultDescription"
	TypeRubricCriterionLevel  = "RubricCriterionLevel"
	TypeRelated               = "Related"
	TypeProfile               = "Profile"
	TypeAddress               = "Address"
	TypeGeoCoordinates        = "GeoCoordinates"
	TypeImage                 = "Image"
	TypeEvidence              = "Evidence"
	TypeIdentityObject        = "IdentityObject"
	TypeIdentifierEntry       = "IdentifierEntry"
	// TypeJSONSchemaValidator is the credentialSchema type 1EdTech validators use.
	TypeJSONSchemaValidator = "1EdTechJsonSchemaValidator2019"
)

// Schema URLs a credential names in credentialSchema.
const (
	SchemaClrCredential         = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
	SchemaAchievementCredential = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)

// AssociationType is the relationship an Association states between two achievements.
type AssociationType = string

// The CLR 2.0 AssociationType vocabulary.
const (
	AssociationExactMatchOf AssociationType = "exactMatchOf"
	AssociationIsChildOf    AssociationType = "isChildOf"
	AssociationIsParentOf   AssociationType = "isParentOf"
	AssociationIsPartOf     AssociationType = "isPartOf"
	AssociationIsPeerOf     AssociationType = "isPeerOf"
	AssociationIsRelatedTo  AssociationType = "isRelatedTo"
	AssociationPrecedes     AssociationType = "precedes"
	AssociationReplacedBy   AssociationType = "replacedBy"
)

// AssociationTypes lists every AssociationType value.
var AssociationTypes = []string{
	AssociationExactMatchOf, AssociationIsChildOf, AssociationIsParentOf, AssociationIsPartOf,
	AssociationIsPeerOf, AssociationIsRelatedTo, AssociationPrecedes, AssociationReplacedBy,
}

// AchievementTypes is the OB 3.0 AchievementType vocabulary (extensions are "ext:...").
var AchievementTypes = []string{
	"Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree", "Award",
	"Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion", "Certification", "CommunityService",
	"Competency", "Course", "CoCurricular", "Degree", "Diploma", "DoctoralDegree", "Fieldwork",
	"GeneralEducationDevelopment", "JourneymanCertificate", "LearningProgram", "License", "Membership",
	"ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate", "MasterDegree",
	"MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
}

// ResultTypes is the OB 3.0 ResultType vocabulary (extensions are "ext:...").
var ResultTypes = []string{
	"GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore", "RawScore",
	"Result", "RubricCriterion", "RubricCriterionLevel", "RubricScore", "ScaledScore", "Status",
}

// ResultStatuses is the OB 3.0 ResultStatusType vocabulary.
var ResultStatuses = []string{"Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"}

// AlignmentTargetTypes is the OB 3.0 AlignmentTargetType vocabulary (extensions are "ext:...").
var AlignmentTargetTypes = []string{
	"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
	"CFRubricCriterionLevel", "CTDL",
}

// IdentifierTypes is the OB 3.0 IdentifierTypeEnum vocabulary (extensions are "ext:...").
var IdentifierTypes = []string{
	"name", "sourcedId", "systemId", "productId", "userName", "accountId", "emailAddress",
	"nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId", "sisSourcedId",
	"ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId", "ltiUserId", "identifier",
}
