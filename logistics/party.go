package logistics

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"govmobile/gm"
	"govmobile/logistics/carrier"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/validate"
)

// Party is a sender or a receiver. Given to Create it is the clear value;
// returned in a Shipment it is the masked display value.
type Party struct {
	Name       string
	Phone      string
	RegionCode string // 6-digit administrative division code (行政区划代码)
	Address    string // the address below the region: street, building, room
}

var regionRe = regexp.MustCompile(`^[1-9][0-9]{5}$`)

// check trims p and reports the first field at fault; role is "sender" or
// "receiver" and names the input fields ("senderPhone"), label is 寄件人 or
// 收件人.
func (p *Party) check(role, label string) error {
	var err error
	if p.Name, err = validate.Text(role+"Name", label+"姓名", p.Name, 30, ""); err != nil {
		return err
	}
	if p.Name == "" {
		return models.InvalidField(role+"Name", "请填写"+label+"姓名（至多30个字）。")
	}
	p.Phone = strings.TrimSpace(p.Phone)
	if p.Phone == "" {
		return models.InvalidField(role+"Phone", "请填写"+label+"联系电话。")
	}
	if err := validate.Phone(role+"Phone", label+"联系电话", p.Phone); err != nil {
		return err
	}
	p.RegionCode = strings.TrimSpace(p.RegionCode)
	if !regionRe.MatchString(p.RegionCode) {
		return models.InvalidField(role+"RegionCode", label+"所在地区的行政区划代码应为6位数字，如 110105。")
	}
	if p.Address, err = validate.Text(role+"Address", label+"详细地址", p.Address, 120, ""); err != nil {
		return err
	}
	if utf8.RuneCountInString(p.Address) < 5 {
		return models.InvalidField(role+"Address", "请填写"+label+"详细地址（街道、门牌号等，5到120个字）。")
	}
	return nil
}

func (p Party) wire() carrier.Party {
	return carrier.Party{Name: p.Name, Phone: p.Phone, RegionCode: p.RegionCode, Address: p.Address}
}

// masked is p as shown to users (9.4.5): 张**, 1390*****, the region and
// the start of the address.
func (p Party) masked() Party {
	return Party{Name: mask.Name(p.Name), Phone: mask.Phone(p.Phone), RegionCode: p.RegionCode, Address: MaskAddress(p.Address)}
}

// addressKept is how many characters of an address MaskAddress keeps: the
// street, rarely the house number.
const addressKept = 6

// MaskAddress keeps the start of an address below its region and hides the
// rest behind a fixed **** (so the mask does not tell the length): at most
// six characters, and never more than half of the address.
func MaskAddress(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) == 0 {
		return ""
	}
	return string(r[:min(addressKept, len(r)/2)]) + "****"
}

// sealed is a party's sealed columns.
type sealed struct{ name, phone, address string }

func sealParty(keys *gm.Keyring, ctx string, p Party) (sealed, error) {
	var s sealed
	var err error
	if s.name, err = keys.SealString(p.Name, ctx+".name"); err != nil {
		return s, err
	}
	if s.phone, err = keys.SealString(p.Phone, ctx+".phone"); err != nil {
		return s, err
	}
	s.address, err = keys.SealString(p.Address, ctx+".address")
	return s, err
}

func openParty(keys *gm.Keyring, ctx string, s sealed, region string) (Party, error) {
	p := Party{RegionCode: region}
	var err error
	if p.Name, err = keys.OpenString(s.name, ctx+".name"); err != nil {
		return p, err
	}
	if p.Phone, err = keys.OpenString(s.phone, ctx+".phone"); err != nil {
		return p, err
	}
	p.Address, err = keys.OpenString(s.address, ctx+".address")
	return p, err
}
