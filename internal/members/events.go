package members

import (
	"context"
	"slices"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// announcingStore adds to every membership change the events to the application it makes
// (tenancy.Events), in the change's own transaction, by comparing what decide read with what it
// writes. Every membership write of this domain goes through ChangeInvitation or ChangeMembers,
// so every one of them, present or future, is announced without a call of its own.
type announcingStore struct {
	Store
	events tenancy.Events
}

// ChangeInvitation announces the member an accepted invitation adds and the owners it steps
// down.
func (s announcingStore) ChangeInvitation(ctx context.Context, key InvitationKey, actorUID string, decide func(InvitationState) (InvitationChange, error)) error {
	return s.Store.ChangeInvitation(ctx, key, actorUID, func(st InvitationState) (InvitationChange, error) {
		ch, err := decide(st)
		if err != nil || !s.events.On() {
			return ch, err
		}
		t := st.Tenant.Tenant
		if m := ch.AddMember; m != nil {
			ch.Outbox = append(ch.Outbox, s.events.Emit(t.ID, tenancy.MemberJoinedOf(t, *m, tenancy.JoinedByInvitation), ch.At)...)
		}
		ch.Outbox = append(ch.Outbox, s.roleEvents(t, st.Owners, ch.SetRole, nil, ch.At)...)
		return ch, nil
	})
}

// ChangeMembers announces role and app-role changes and removals.
func (s announcingStore) ChangeMembers(ctx context.Context, tenantID, actorUID, targetUID string, decide func(MembersState) (MembersChange, error)) error {
	return s.Store.ChangeMembers(ctx, tenantID, actorUID, targetUID, func(st MembersState) (MembersChange, error) {
		ch, err := decide(st)
		if err != nil || !s.events.On() {
			return ch, err
		}
		t := st.Tenant.Tenant
		var read []tenancy.Member
		if st.ActorFound {
			read = append(read, st.Actor)
		}
		if st.TargetFound {
			read = append(read, st.Target)
		}
		ch.Outbox = append(ch.Outbox, s.roleEvents(t, read, ch.SetRole, ch.SetAppRoles, ch.At)...)
		if ch.Remove != "" {
			if m, ok := find(read, ch.Remove); ok {
				ch.Outbox = append(ch.Outbox, s.events.Emit(t.ID, tenancy.MemberRemovedOf(t, m, actorUID), ch.At)...)
			}
		}
		return ch, nil
	})
}

// roleEvents announces each member of read whose role (setRole) or app roles (setAppRoles) the
// change sets to something else: one event per member, whatever changed about it.
func (s announcingStore) roleEvents(t tenancy.Tenant, read, setRole, setAppRoles []tenancy.Member, at time.Time) []tenancy.OutboxEntry {
	var out []tenancy.OutboxEntry
	seen := map[string]bool{}
	for _, changed := range slices.Concat(setRole, setAppRoles) {
		before, ok := find(read, changed.UID)
		if !ok || seen[changed.UID] {
			continue
		}
		seen[changed.UID] = true
		after := before
		if m, ok := find(setRole, changed.UID); ok {
			after.Role = m.Role
		}
		if m, ok := find(setAppRoles, changed.UID); ok {
			after.AppRoles = m.AppRoles
		}
		if ev, changed := tenancy.MemberChangedOf(t, before, after); changed {
			out = append(out, s.events.Emit(t.ID, ev, at)...)
		}
	}
	return out
}

// find is the member of list with uid.
func find(list []tenancy.Member, uid string) (tenancy.Member, bool) {
	i := slices.IndexFunc(list, func(m tenancy.Member) bool { return m.UID == uid })
	if i < 0 {
		return tenancy.Member{}, false
	}
	return list[i], true
}
