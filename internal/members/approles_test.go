package members

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/errs"
)

func TestAppRolesIn(t *testing.T) {
	clinic := &Service{cfg: Config{AppRoles: []string{"receptionist", "practitioner"}}}
	none := &Service{}
	for _, c := range []struct {
		name    string
		svc     *Service
		in      []string
		want    []string
		message []string // what a refusal's message must say
	}{
		{"none given", clinic, nil, nil, nil},
		{"empty list", clinic, []string{}, nil, nil},
		{"sorted, duplicates once", clinic, []string{"receptionist", "practitioner", "receptionist"}, []string{"practitioner", "receptionist"}, nil},
		{"undeclared", clinic, []string{"receptionist", "nurse"}, nil, []string{`"nurse"`, "receptionist, practitioner"}},
		{"a tenant role is not an app role", clinic, []string{"admin"}, nil, []string{`"admin"`}},
		{"case matters", clinic, []string{"Receptionist"}, nil, []string{`"Receptionist"`}},
		{"a long name is cut in the message", clinic, []string{strings.Repeat("x", 5000)}, nil, []string{strings.Repeat("x", maxQuotedRole) + "…"}},
		{"no declaration", none, []string{"receptionist"}, nil, []string{"declares no app roles", "TENANTRY_APP"}},
		{"no declaration, nothing asked", none, []string{}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.svc.appRolesIn(c.in)
			if c.message == nil {
				if err != nil || !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
					t.Fatalf("appRolesIn(%q) = %q, %v; want %q", c.in, got, err, c.want)
				}
				return
			}
			var ve *errs.ValidationError
			if !errors.As(err, &ve) || ve.Field != fieldAppRoles || got != nil {
				t.Fatalf("appRolesIn(%q) = %q, %v; want BAD_USER_INPUT on appRoles", c.in, got, err)
			}
			for _, m := range c.message {
				if !strings.Contains(ve.Reason, m) {
					t.Errorf("message %q does not say %q", ve.Reason, m)
				}
			}
			if len(ve.Reason) > 400 {
				t.Errorf("message of %d bytes repeats the input", len(ve.Reason))
			}
		})
	}
}
