package resolvers

import (
	"strings"
	"time"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/domains"
)

func toGraphDomain(d domains.Domain) *model.Domain {
	return &model.Domain{
		ID: d.Name, Domain: d.Name,
		Status:        model.DomainStatus(strings.ToUpper(string(d.Status))),
		Enrollment:    toGraphEnrollment(d.Enrollment),
		TxtRecordName: d.TXTRecordName(), TxtRecordValue: d.TXTRecordValue(),
		VerifiedAt: optionalTime(d.VerifiedAt), LastCheckedAt: optionalTime(d.LastCheckedAt),
	}
}

func toGraphEnrollment(e domains.Enrollment) model.DomainEnrollment {
	return model.DomainEnrollment(strings.ToUpper(string(e)))
}

func fromGraphEnrollment(e *model.DomainEnrollment) domains.Enrollment {
	if e == nil {
		return ""
	}
	return domains.Enrollment(strings.ToLower(string(*e)))
}

// optionalTime is nil for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
