package serverconfig

// Framework is a learning framework as clr-server publishes it and uses it to
// build the framework layer of a CLR (competencies as Achievements of type
// Competency, levels as RubricCriterionLevels). The operator renders it from
// a Framework object; clr-server --dev ships a sample.
type Framework struct {
	// Name is the stable short name (the Framework object's name).
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version,omitempty"`
	Creator     string `json:"creator,omitempty"`
	URL         string `json:"url,omitempty"`
	// Digest is the canonical SHA-256 of the framework content ("sha256:...").
	Digest string `json:"digest,omitempty"`
	// Levels are ordered from lowest to highest.
	Levels       []FrameworkLevel `json:"levels"`
	Competencies []Competency     `json:"competencies"`
}

// FrameworkLevel is one performance level, e.g. Exposure, Integration, Transformation.
type FrameworkLevel struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Competency is one node of the competency tree.
type Competency struct {
	ID          string `json:"id"`
	HumanCode   string `json:"humanCode,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Type is an Open Badges achievementType, e.g. Competency.
	Type string `json:"type,omitempty"`
	// Parent is the id of the parent competency, empty for a root.
	Parent     string      `json:"parent,omitempty"`
	Alignments []Alignment `json:"alignments,omitempty"`
}

// Alignment points at an external framework item (e.g. a CASE CFItem URL).
type Alignment struct {
	TargetURL         string `json:"targetUrl"`
	TargetName        string `json:"targetName"`
	TargetFramework   string `json:"targetFramework,omitempty"`
	TargetCode        string `json:"targetCode,omitempty"`
	TargetType        string `json:"targetType,omitempty"`
	TargetDescription string `json:"targetDescription,omitempty"`
}
