package resolvers

import (
	"strings"

	"github.com/tenantry/tenantry/graph/model"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/rules"
)

// Converters of the members domain; like convert.go, the one place that maps its lowercase stored
// values to the upper-case GraphQL enums.

func fromGraphRole(r model.Role) rules.Role { return rules.Role(strings.ToLower(string(r))) }

func toGraphInvitationStatus(s members.Status) model.InvitationStatus {
	return model.InvitationStatus(strings.ToUpper(string(s)))
}

func fromGraphInvitationStatus(s *model.InvitationStatus) members.Status {
	if s == nil {
		return ""
	}
	return members.Status(strings.ToLower(string(*s)))
}

// toGraphInvitation converts an invitation; its tenant is resolved on demand (Invitation.tenant)
// from the tenant id the invitation id starts with.
func toGraphInvitation(i members.Invitation) *model.Invitation {
	return &model.Invitation{
		ID: i.ID, Email: i.Email, Role: toGraphRole(i.Role), AppRoles: toGraphAppRoles(i.AppRoles),
		Status: toGraphInvitationStatus(i.Status), ExpiresAt: i.ExpiresAt,
	}
}

func toGraphInvitations(list []members.Invitation) []*model.Invitation {
	out := make([]*model.Invitation, 0, len(list))
	for _, i := range list {
		out = append(out, toGraphInvitation(i))
	}
	return out
}

func toGraphInviteResults(list []members.InviteResult) []*model.Invitation {
	out := make([]*model.Invitation, 0, len(list))
	for _, r := range list {
		out = append(out, toGraphInvitation(r.Invitation))
	}
	return out
}

// inviteRequests builds the batch of one role and one set of app roles for inviteMembers.
func inviteRequests(emails []string, role model.Role, appRoles []string) []members.InviteRequest {
	out := make([]members.InviteRequest, len(emails))
	for i, e := range emails {
		out[i] = members.InviteRequest{Email: e, Role: fromGraphRole(role), AppRoles: appRoles}
	}
	return out
}

// toGraphAppRoles is a list of app roles for a non-null GraphQL list: empty, never null.
func toGraphAppRoles(roles []string) []string {
	if roles == nil {
		return []string{}
	}
	return roles
}
