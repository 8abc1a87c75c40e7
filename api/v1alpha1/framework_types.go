/*
Copyright 2026 The clr-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FrameworkSpec is a learning framework: ordered performance levels and a
// tree of competencies, published by clr-server and used to build the
// framework layer of a CLR.
type FrameworkSpec struct {
	// title of the framework, e.g. "Essential Learning Outcomes".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title"`

	// description of the framework.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Description string `json:"description,omitempty"`

	// version of the framework, e.g. "2025.1". Records keep the version they
	// were issued against.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Version string `json:"version,omitempty"`

	// creator is the body that authored the framework, e.g. a faculty senate.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Creator string `json:"creator,omitempty"`

	// url of the framework's public description.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	// +optional
	URL string `json:"url,omitempty"`

	// levels are the performance levels, ordered from the lowest to the
	// highest, e.g. Exposure, Integration, Transformation. Their ids are
	// unique.
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=12
	// +optional
	Levels []FrameworkLevel `json:"levels,omitempty"`

	// competencies is the competency tree, flattened: each competency names
	// its parent by id. Ids are unique; a parent must be listed here.
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:XValidation:rule="self.all(c, !has(c.parent) || c.parent != c.id)",message="spec.competencies[].parent: a competency cannot be its own parent",reason=FieldValueInvalid
	// +kubebuilder:validation:XValidation:rule="sets.contains(self.map(p, p.id), self.filter(c, has(c.parent)).map(c, c.parent))",message="spec.competencies[].parent must be the id of a competency listed in spec.competencies",reason=FieldValueInvalid
	Competencies []Competency `json:"competencies"`

	// sharing says which other namespaces may reference this Framework from
	// their CLRProviders. Without it only CLRProviders of the Framework's own
	// namespace may use it.
	// +optional
	Sharing *FrameworkSharing `json:"sharing,omitempty"`
}

// FrameworkLevel is one performance level.
type FrameworkLevel struct {
	// id of the level, stable across versions, e.g. "integration".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	ID string `json:"id"`

	// name shown to learners and employers, e.g. "Integration".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// description of what performance at this level looks like.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Description string `json:"description,omitempty"`
}

// Competency is one node of the competency tree.
type Competency struct {
	// id of the competency, stable across versions, e.g. "critical-thinking".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	ID string `json:"id"`

	// humanCode is the code people use, e.g. "CT.2".
	// +kubebuilder:validation:MaxLength=64
	// +optional
	HumanCode string `json:"humanCode,omitempty"`

	// name of the competency, e.g. "Critical Thinking".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// description of the competency.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Description string `json:"description,omitempty"`

	// type is the Open Badges achievementType of the competency's
	// Achievement: a term of the vocabulary (Competency, CoCurricular,
	// Fieldwork, CommunityService, ...) or an extension "ext:...".
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^(Achievement|ApprenticeshipCertificate|Assessment|Assignment|AssociateDegree|Award|Badge|BachelorDegree|Certificate|CertificateOfCompletion|Certification|CommunityService|Competency|Course|CoCurricular|Degree|Diploma|DoctoralDegree|Fieldwork|GeneralEducationDevelopment|JourneymanCertificate|LearningProgram|License|Membership|ProfessionalDoctorate|QualityAssuranceCredential|MasterCertificate|MasterDegree|MicroCredential|ResearchDoctorate|SecondarySchoolDiploma|ext:[A-Za-z0-9._-]+)$`
	// +kubebuilder:default=Competency
	// +optional
	Type string `json:"type,omitempty"`

	// parent is the id of the parent competency; empty for a root.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Parent string `json:"parent,omitempty"`

	// alignments to items of external frameworks, e.g. a CASE CFItem.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Alignments []Alignment `json:"alignments,omitempty"`
}

// Alignment is an Open Badges Alignment to an external framework item.
type Alignment struct {
	// targetUrl is the URL of the item, e.g. a CASE CFItem URI.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	TargetURL string `json:"targetUrl"`

	// targetName is the item's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	TargetName string `json:"targetName"`

	// targetDescription is a short description of the item.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	TargetDescription string `json:"targetDescription,omitempty"`

	// targetFramework is the name of the external framework.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	TargetFramework string `json:"targetFramework,omitempty"`

	// targetCode is the item's code in that framework.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	TargetCode string `json:"targetCode,omitempty"`

	// targetType from the Open Badges AlignmentTargetType vocabulary
	// (ceasn:Competency, ceterms:Credential, CFItem, CFRubric,
	// CFRubricCriterion, CFRubricCriterionLevel, CTDL) or "ext:...".
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^(ceasn:Competency|ceterms:Credential|CFItem|CFRubric|CFRubricCriterion|CFRubricCriterionLevel|CTDL|ext:[A-Za-z0-9._-]+)$`
	// +optional
	TargetType string `json:"targetType,omitempty"`
}

// FrameworkSharing says which namespaces may use a Framework.
// +kubebuilder:validation:XValidation:rule="!has(self.namespaceSelector.matchExpressions) || self.namespaceSelector.matchExpressions.all(e, e.operator in ['In', 'NotIn'] ? (has(e.values) && size(e.values) > 0) : (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="spec.sharing.namespaceSelector.matchExpressions: the operator must be In or NotIn with values, or Exists or DoesNotExist without values",fieldPath=".namespaceSelector.matchExpressions",reason=FieldValueInvalid
type FrameworkSharing struct {
	// namespaceSelector selects the namespaces whose CLRProviders may
	// reference this Framework. An empty selector ({}) selects every
	// namespace.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector"`
}

// FrameworkStatus is the observed state of a Framework.
type FrameworkStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// competencyCount is the number of competencies.
	// +optional
	CompetencyCount int32 `json:"competencyCount,omitempty"`

	// levelCount is the number of performance levels.
	// +optional
	LevelCount int32 `json:"levelCount,omitempty"`

	// digest is the canonical SHA-256 of the framework content
	// ("sha256:<hex>"); it changes exactly when what clr-server publishes
	// changes.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// Framework is a learning framework (for example Critical Thinking, Written
// Communication, Integrative Learning) with performance levels, shareable
// with other namespaces.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=frameworks,scope=Namespaced,categories=clr,shortName=clrframework;clrfw
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Competencies",type=integer,JSONPath=`.status.competencyCount`
// +kubebuilder:printcolumn:name="Levels",type=integer,JSONPath=`.status.levelCount`,priority=1
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.status.digest`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Framework struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FrameworkSpec `json:"spec"`

	// +optional
	Status FrameworkStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *Framework) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *Framework) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// FrameworkList is a list of Frameworks.
type FrameworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Framework `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Framework{}, &FrameworkList{})
}
