// The operations the hooks send. graphql-codegen reads the strings marked /* GraphQL */ and
// writes their result and variables types to generated/graphql.ts (npm run codegen).

const TENANT_FIELDS = /* GraphQL */ `
  fragment TenantFields on Tenant {
    id
    name
    subdomain
    status
    trialEndsAt
    seatCap
    seatsUsed
    pendingInvitations
    plan { id name }
    access { canRead canWrite reason }
  }
`;

export const ME = /* GraphQL */ `
  query Me {
    me {
      user { id email }
      platformRole
      memberships { role tenant { ...TenantFields } }
    }
  }
  ${TENANT_FIELDS}
`;

export const TENANT = /* GraphQL */ `
  query Tenant($id: ID!) {
    tenant(id: $id) { ...TenantFields }
  }
  ${TENANT_FIELDS}
`;

export const PROVISION_TENANT = /* GraphQL */ `
  mutation ProvisionTenant($input: ProvisionTenantInput!) {
    provisionTenant(input: $input) {
      replayed
      tenant { ...TenantFields }
    }
  }
  ${TENANT_FIELDS}
`;

export const INVITE_MEMBER = /* GraphQL */ `
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) { id email role status expiresAt }
  }
`;

export const INVITATIONS = /* GraphQL */ `
  query Invitations($tenantId: ID!, $status: InvitationStatus) {
    tenant(id: $tenantId) {
      id
      invitations(status: $status) { id email role status expiresAt }
    }
  }
`;

export const ACCEPT_INVITATION = /* GraphQL */ `
  mutation AcceptInvitation($token: String!) {
    acceptInvitation(token: $token) {
      role
      tenant { ...TenantFields }
    }
  }
  ${TENANT_FIELDS}
`;
