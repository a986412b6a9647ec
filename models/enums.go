package models

// MatterNature is a matter's legal nature (事项类型), as listed by SPEC §5.
type MatterNature string

// The matter natures of the national catalogue.
const (
	NatureLicense       MatterNature = "ADMINISTRATIVE_LICENSE"
	NaturePayment       MatterNature = "ADMINISTRATIVE_PAYMENT"
	NatureConfirmation  MatterNature = "ADMINISTRATIVE_CONFIRMATION"
	NatureLevy          MatterNature = "ADMINISTRATIVE_LEVY"
	NatureAdjudication  MatterNature = "ADMINISTRATIVE_ADJUDICATION"
	NatureReward        MatterNature = "ADMINISTRATIVE_REWARD"
	NatureInspection    MatterNature = "ADMINISTRATIVE_INSPECTION"
	NaturePenalty       MatterNature = "ADMINISTRATIVE_PENALTY"
	NatureCoercion      MatterNature = "ADMINISTRATIVE_COERCION"
	NatureOtherPower    MatterNature = "OTHER_ADMINISTRATIVE_POWER"
	NaturePublicService MatterNature = "PUBLIC_SERVICE"
)

// MatterNatures lists every nature in the catalogue's display order.
var MatterNatures = []MatterNature{
	NatureLicense, NaturePayment, NatureConfirmation, NatureLevy, NatureAdjudication,
	NatureReward, NatureInspection, NaturePenalty, NatureCoercion, NatureOtherPower,
	NaturePublicService,
}

var natureNames = map[MatterNature]string{
	NatureLicense: "行政许可", NaturePayment: "行政给付", NatureConfirmation: "行政确认",
	NatureLevy: "行政征收", NatureAdjudication: "行政裁决", NatureReward: "行政奖励",
	NatureInspection: "行政检查", NaturePenalty: "行政处罚", NatureCoercion: "行政强制",
	NatureOtherPower: "其他行政权力", NaturePublicService: "公共服务",
}

// Name is the nature's Chinese name.
func (n MatterNature) Name() string { return natureNames[n] }

// Valid reports whether n is a known nature.
func (n MatterNature) Valid() bool { _, ok := natureNames[n]; return ok }

// ServiceObject is whom a matter serves (服务对象).
type ServiceObject string

// The service objects.
const (
	ObjectNaturalPerson ServiceObject = "NATURAL_PERSON"
	ObjectLegalPerson   ServiceObject = "LEGAL_PERSON"
	ObjectOther         ServiceObject = "OTHER_ORGANIZATION"
)

// ServiceObjects lists every service object in display order; a matter stores
// its set as a bit mask whose bit i is ServiceObjects[i].
var ServiceObjects = []ServiceObject{ObjectNaturalPerson, ObjectLegalPerson, ObjectOther}

var objectNames = map[ServiceObject]string{
	ObjectNaturalPerson: "自然人", ObjectLegalPerson: "法人", ObjectOther: "其他组织",
}

// Name is the service object's Chinese name.
func (o ServiceObject) Name() string { return objectNames[o] }

// Valid reports whether o is a known service object.
func (o ServiceObject) Valid() bool { _, ok := objectNames[o]; return ok }

// Bit is o's bit in a ServiceObjectSet.
func (o ServiceObject) Bit() ServiceObjectSet {
	for i, s := range ServiceObjects {
		if s == o {
			return 1 << i
		}
	}
	return 0
}

// ServiceObjectSet is a bit mask of service objects, stored as an integer so
// that a filter needs no join.
type ServiceObjectSet int

// NewServiceObjectSet builds a set from a list.
func NewServiceObjectSet(objs ...ServiceObject) ServiceObjectSet {
	var s ServiceObjectSet
	for _, o := range objs {
		s |= o.Bit()
	}
	return s
}

// SetsContaining lists every set value that contains o.
func SetsContaining(o ServiceObject) []int {
	var out []int
	for s := ServiceObjectSet(1); s < 1<<len(ServiceObjects); s++ {
		if s&o.Bit() != 0 {
			out = append(out, int(s))
		}
	}
	return out
}

// List returns the set's members in display order.
func (s ServiceObjectSet) List() []ServiceObject {
	out := make([]ServiceObject, 0, len(ServiceObjects))
	for _, o := range ServiceObjects {
		if s&o.Bit() != 0 {
			out = append(out, o)
		}
	}
	return out
}

// AdminLevel is the administrative level at which a matter is exercised (行使层级).
type AdminLevel string

// The administrative levels.
const (
	LevelNational   AdminLevel = "NATIONAL"
	LevelProvincial AdminLevel = "PROVINCIAL"
	LevelCity       AdminLevel = "CITY"
	LevelCounty     AdminLevel = "COUNTY"
	LevelTownship   AdminLevel = "TOWNSHIP"
)

// AdminLevels lists every level from the top down.
var AdminLevels = []AdminLevel{LevelNational, LevelProvincial, LevelCity, LevelCounty, LevelTownship}

var levelNames = map[AdminLevel]string{
	LevelNational: "国家级", LevelProvincial: "省级", LevelCity: "市级", LevelCounty: "县级", LevelTownship: "乡镇级",
}

// Name is the level's Chinese name.
func (l AdminLevel) Name() string { return levelNames[l] }

// Valid reports whether l is a known level.
func (l AdminLevel) Valid() bool { _, ok := levelNames[l]; return ok }

// RegionLevel is the tier of an administrative division (GB/T 2260).
type RegionLevel string

// The region tiers.
const (
	RegionProvince RegionLevel = "PROVINCE"
	RegionCity     RegionLevel = "CITY"
	RegionCounty   RegionLevel = "COUNTY"
)

// UserType tells a natural person from a legal person (8.1.2 g).
type UserType string

// The user types.
const (
	UserNaturalPerson UserType = "NATURAL_PERSON"
	UserLegalPerson   UserType = "LEGAL_PERSON"
)

// Name is the user type's Chinese name.
func (t UserType) Name() string {
	switch t {
	case UserNaturalPerson:
		return "自然人"
	case UserLegalPerson:
		return "法人"
	}
	return ""
}

// OnlineDepthName describes an online-handling depth (网上办理深度) 0–4.
func OnlineDepthName(depth int) string {
	switch depth {
	case 1:
		return "网上咨询"
	case 2:
		return "网上预审"
	case 3:
		return "网上受理"
	case 4:
		return "全程网办"
	}
	return "不能网上办理"
}

// OnlineAvailableDepth is the depth from which a matter counts as handled online.
const OnlineAvailableDepth = 3
