export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Any JSON value: here, a record to import, an object with an id and the document's fields. */
  JSON: { input: unknown; output: unknown; }
  Time: { input: string; output: string; }
};

/** One field an audited action changed; values as text (times in RFC 3339). (Addition to the contract.) */
export type AuditChange = {
  after: Maybe<Scalars['String']['output']>;
  before: Maybe<Scalars['String']['output']>;
  field: Scalars['String']['output'];
};

/** One entry of a tenant's audit log (tenants/{id}/audit). (Addition to the contract.) */
export type AuditEntry = {
  /**
   * What happened: tenant.provision_contract, tenant.convert_contract, tenant.set_status,
   * tenant.extend_trial, tenant.status_change, tenant.plan_change, tenant.invitation_expiry_changed,
   * member.invited, member.invitation_revoked, member.invitation_resent, member.joined,
   * member.role_changed, member.app_roles_changed, member.removed, member.left,
   * member.ownership_transferred, member.user_deleted, member.invitation_closed,
   * service_token.created, service_token.revoked, data.imported, data.import_dry_run.
   */
  action: Scalars['String']['output'];
  /** The actor's platform role when they acted. */
  actorPlatformRole: Maybe<PlatformRole>;
  /** The job or integration that acted, e.g. expire-trials; null for users. */
  actorSystem: Maybe<Scalars['String']['output']>;
  /** The user who acted; null when the system did (see actorSystem). */
  actorUserId: Maybe<Scalars['ID']['output']>;
  at: Scalars['Time']['output'];
  /** Each field the action changed, before and after (before is null for a tenant the action created). */
  changes: Array<AuditChange>;
  id: Scalars['ID']['output'];
  reason: Scalars['String']['output'];
  /** The API request (the id the server gave it, in its X-Request-Id response header) or job run; quote it to support. */
  requestId: Maybe<Scalars['String']['output']>;
};

/** A Stripe-hosted billing portal page (payment methods, invoices, cancellation). (Addition to the contract.) */
export type BillingPortalSession = {
  url: Scalars['String']['output'];
};

/** A Stripe-hosted page to send the owner to. (Addition to the contract.) */
export type CheckoutSession = {
  url: Scalars['String']['output'];
};

/** A contract's named admin. (Addition to the contract.) */
export type Contact = {
  email: Scalars['String']['output'];
  name: Maybe<Scalars['String']['output']>;
};

export type ContactInput = {
  email: Scalars['String']['input'];
  name?: InputMaybe<Scalars['String']['input']>;
};

/** A signed sales contract as recorded on its tenant. (Addition to the contract.) */
export type Contract = {
  /** The named admin, who received the owner invitation. */
  adminContact: Contact;
  /** The go-live date: the tenant is a TRIAL until then, and expire-trials makes it ACTIVE at go-live. */
  goLiveDate: Scalars['Time']['output'];
  /** The contract's days of writing after a failed payment; null: the plan's graceDays. (Addition.) */
  graceDays: Maybe<Scalars['Int']['output']>;
  plan: Plan;
  /** The staff member who entered it. */
  provisionedBy: ContractActor;
  /** The CRM's reference. */
  reference: Scalars['String']['output'];
  /** The contracted seat cap; it may exceed the plan's. */
  seatCap: Scalars['Int']['output'];
  /** When the signed contract was entered into Tenantry. */
  signedAt: Scalars['Time']['output'];
};

/** The staff member who entered a contract. (Addition to the contract.) */
export type ContractActor = {
  email: Scalars['String']['output'];
  platformRole: Maybe<PlatformRole>;
  userId: Scalars['ID']['output'];
};

export type CreateServiceTokenInput = {
  /** In the future, at most two years ahead; null for a token valid until revoked. */
  expiresAt?: InputMaybe<Scalars['Time']['input']>;
  /** 1 to 100 characters: what the token is for. */
  name: Scalars['String']['input'];
  /** One or more of import, validate, members; anything else is BAD_USER_INPUT (field scopes). */
  scopes: Array<Scalars['String']['input']>;
  tenantId: Scalars['ID']['input'];
};

/**
 * An email domain an organization claims. It is PENDING until the TXT record txtRecordName with the
 * value txtRecordValue is found in DNS (verifyDomain, or the verify-domains job, which retries with
 * backoff for 72 hours and then marks it FAILED). One organization per domain. The id is the
 * domain's normalized name (punycode, lowercase).
 */
export type Domain = {
  domain: Scalars['String']['output'];
  enrollment: DomainEnrollment;
  id: Scalars['ID']['output'];
  lastCheckedAt: Maybe<Scalars['Time']['output']>;
  status: DomainStatus;
  txtRecordName: Scalars['String']['output'];
  txtRecordValue: Scalars['String']['output'];
  verifiedAt: Maybe<Scalars['Time']['output']>;
};

export type DomainEnrollment =
  | 'AUTOMATIC'
  | 'REQUEST'
  | 'SUGGEST';

export type DomainStatus =
  | 'FAILED'
  | 'PENDING'
  | 'VERIFIED';

/**
 * One export of a tenant: a tar.gz archive with one NDJSON file per collection path and a
 * manifest.json with the counts and the tenant document. (Addition to the contract.)
 */
export type Export = {
  /** When the archive was written (READY) or given up (FAILED). */
  completedAt: Maybe<Scalars['Time']['output']>;
  /** Documents per collection path, sorted by collection; empty until READY. */
  counts: Array<ExportCount>;
  /** All the documents in the archive. */
  documents: Scalars['Int']['output'];
  /** The signed download link, while it works (READY and before expiresAt); null otherwise. */
  downloadUrl: Maybe<Scalars['String']['output']>;
  /** When the download link stops working (READY only). */
  expiresAt: Maybe<Scalars['Time']['output']>;
  /** Why a FAILED export failed, and what to do. */
  failureReason: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  requestedAt: Scalars['Time']['output'];
  /** The archive's size in bytes (compressed); 0 until READY. */
  sizeBytes: Scalars['Int']['output'];
  status: ExportStatus;
};

/** How many documents of one collection path an export holds (a subcollection as clients/notes). */
export type ExportCount = {
  collection: Scalars['String']['output'];
  count: Scalars['Int']['output'];
};

export type ExportStatus =
  /** The archive could not be built; failureReason says what to do. */
  | 'FAILED'
  /** The archive is being built. */
  | 'PENDING'
  /** The archive is in storage; downloadUrl works until expiresAt. */
  | 'READY';

/** One person to invite with importMembers. (Addition to the contract.) */
export type ImportMemberInput = {
  /** App roles the application declares, granted on acceptance, as in InviteMemberInput.appRoles. */
  appRoles?: InputMaybe<Array<Scalars['String']['input']>>;
  email: Scalars['String']['input'];
  /** Any role but OWNER; a service token invites at most MANAGER (admins are invited by a person). */
  role: Role;
};

/** (Addition to the contract.) */
export type ImportMembersInput = {
  /** 8 to 255 characters; a retry with the same key and members answers the same report and sends no email twice. */
  idempotencyKey: Scalars['String']['input'];
  /** 1 to 100 people a call (one commit holds every invitation of a call); send a longer list as several calls. */
  members: Array<ImportMemberInput>;
  tenantId: Scalars['ID']['input'];
};

/**
 * importMembers' answer: either every row was invited, or none was and rejected names every row
 * that stopped the call (index in members; field email, role or appRoles). (Addition to the contract.)
 */
export type ImportMembersReport = {
  /** The invitations created, in the order of the rows; empty when rows were rejected. */
  invitationIds: Array<Scalars['ID']['output']>;
  invited: Scalars['Int']['output'];
  received: Scalars['Int']['output'];
  rejected: Array<ImportRejection>;
  /** True when the report comes from an earlier call with the same idempotency key. */
  replayed: Scalars['Boolean']['output'];
};

export type ImportRecordsInput = {
  /** A collection of the application's declaration (tenantry.app.yaml). */
  collection: Scalars['String']['input'];
  /** Check everything, write nothing. */
  dryRun?: InputMaybe<Scalars['Boolean']['input']>;
  /** 8 to 255 characters; a retry with the same key and records answers the same report. */
  idempotencyKey: Scalars['String']['input'];
  /** At most 500 records, each an object with an id (a document id: no '/') and the document's fields, at most 64 KiB as JSON. */
  records: Array<Scalars['JSON']['input']>;
  tenantId: Scalars['ID']['input'];
};

/** Why the record at index (0-based, in the call's records) was not imported. */
export type ImportRejection = {
  /** The document field the reason is about (id for the id; a dotted path for nested fields); null for the record as a whole. */
  field: Maybe<Scalars['String']['output']>;
  index: Scalars['Int']['output'];
  reason: Scalars['String']['output'];
};

export type ImportReport = {
  /** Records created by this call (in a dry run: that would be). */
  accepted: Scalars['Int']['output'];
  /** Records whose document was already there, with the same fields: nothing written. */
  alreadyImported: Scalars['Int']['output'];
  collection: Scalars['String']['output'];
  dryRun: Scalars['Boolean']['output'];
  received: Scalars['Int']['output'];
  rejected: Array<ImportRejection>;
};

export type Invitation = {
  /** The app roles the membership gets on acceptance, sorted. (Addition to the contract.) */
  appRoles: Array<Scalars['String']['output']>;
  /** Lowercased and trimmed. */
  email: Scalars['String']['output'];
  expiresAt: Scalars['Time']['output'];
  /** The invitation's document id (tenants/{tenantId}/invitations/{id}); it starts with the tenant id. */
  id: Scalars['ID']['output'];
  role: Role;
  status: InvitationStatus;
  tenant: Tenant;
};

export type InvitationStatus =
  | 'ACCEPTED'
  | 'EXPIRED'
  | 'PENDING'
  | 'REVOKED';

export type InviteMemberInput = {
  /**
   * App roles the application declares (tenantry.app.yaml), granted with the membership on
   * acceptance; duplicates count once. Owners and admins only. An undeclared one is BAD_USER_INPUT
   * on appRoles.
   */
  appRoles?: InputMaybe<Array<Scalars['String']['input']>>;
  email: Scalars['String']['input'];
  role: Role;
  tenantId: Scalars['ID']['input'];
};

/** Invites several addresses with one role, in one transaction. (Addition to the contract.) */
export type InviteMembersInput = {
  /** App roles for every address, as in InviteMemberInput.appRoles. */
  appRoles?: InputMaybe<Array<Scalars['String']['input']>>;
  /** 1 to 100 addresses; duplicates are sent once. */
  emails: Array<Scalars['String']['input']>;
  role: Role;
  tenantId: Scalars['ID']['input'];
};

/**
 * A verified signup at one of the organization's domains waiting for an owner or admin: the
 * domain's enrollment is REQUEST, or it is AUTOMATIC and no seat was free. (Addition to the
 * contract.) reason is "approval" or "seat_limit".
 */
export type JoinRequest = {
  createdAt: Scalars['Time']['output'];
  domain: Scalars['String']['output'];
  email: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  reason: Scalars['String']['output'];
};

export type Member = {
  /**
   * The application's roles (tenantry.app.yaml) the member holds besides role, sorted; they only
   * open application data, through the Firestore rules. Empty when none. (setMemberAppRoles)
   */
  appRoles: Array<Scalars['String']['output']>;
  joinedAt: Scalars['Time']['output'];
  role: Role;
  user: User;
};

export type Membership = {
  role: Role;
  tenant: Tenant;
};

export type Mutation = {
  /**
   * Accepts the invitation whose link carries token, as the signed-in user, whose verified email
   * must be the invited address. Accepting again returns the same membership.
   */
  acceptInvitation: Membership;
  /**
   * Claims an email domain for the tenant (owners and admins) and issues its DNS challenge.
   * enrollment defaults to SUGGEST. Public suffixes (co.uk) and public email providers (gmail.com)
   * are BAD_USER_INPUT; a domain another organization holds is DOMAIN_TAKEN.
   */
  addDomain: Domain;
  /**
   * Lets a join request's signup in as MEMBER (owners and admins), within the seat cap
   * (SEAT_LIMIT_REACHED). (Addition to the contract.)
   */
  approveJoinRequest: Member;
  /** Owners and admins; not for the owner (see transferOwnership), and never above your own role. */
  changeMemberRole: Member;
  /**
   * Opens Stripe's billing portal for the tenant (update the payment method, pay open invoices,
   * cancel) and returns its URL. Owner only; allowed in every status but CANCELLED.
   * (Addition to the contract.)
   */
  createBillingPortalSession: BillingPortalSession;
  /**
   * Starts a Stripe Checkout session in which the owner subscribes the tenant to planId, and
   * returns its URL. A plan that is not selfServe is BAD_USER_INPUT unless it is already the
   * tenant's (or its contract's) plan: moving to it goes through sales. Owner only; allowed in every status but CANCELLED, so an expired trial or a
   * past-due tenant can pay its way back. When payment completes, Stripe's webhook moves the tenant
   * to ACTIVE. (Addition to the contract.)
   */
  createCheckoutSession: CheckoutSession;
  /**
   * Creates a service token for the tenant (owners and admins, while the tenant is writable) and
   * returns its secret, once. A service token may call only importRecords and importMembers, in its own tenant,
   * within its scopes, while the tenant's status allows writes; every call is in the audit log.
   */
  createServiceToken: ServiceTokenSecret;
  /** Deletes a join request (owners and admins). (Addition to the contract.) */
  declineJoinRequest: Scalars['Boolean']['output'];
  /**
   * Starts an export of the tenant in the background: every document under it, as one archive in
   * Cloud Storage; its owners get an email with a download link that works for
   * TENANTRY_EXPORT_LINK_TTL (24 hours by default). For owners while the tenant is readable, and
   * staff with SUPER_ADMIN or SUPPORT. While an export is PENDING, calling again returns that one.
   * Left out: staff-only records, the export records, invitation token hashes and service tokens.
   * (Addition to the contract.)
   */
  exportTenant: Export;
  /**
   * Sets the end of a tenant's trial (platform roles SUPER_ADMIN and SALES); a TRIAL_EXPIRED tenant
   * goes back to TRIAL. trialEndsAt must be in the future and at most 365 days ahead; reason (3 to
   * 500 characters) is kept in the history and the audit log.
   */
  extendTrial: Tenant;
  /**
   * Invites a list of people, all or none, for a migration: for a service token with the members
   * scope, and for owners and admins, while the tenant is writable. Every row is checked (address,
   * role, declared app roles, not already a member, no pending invitation, listed once, the
   * address's share of invitation emails); one bad row rejects the call, with nothing written. The
   * seat cap and the plan's pending limit are checked for the whole batch in the transaction that
   * writes it (SEAT_LIMIT_REACHED, INVITATION_LIMIT_REACHED). Rate limited per token or user, like
   * inviteMembers.
   */
  importMembers: ImportMembersReport;
  /**
   * Imports records into a collection of the application's declaration: each is checked against
   * the collection's JSON Schema and every declared reference (to a document already in the
   * tenant, or, for a reference to the same collection, to an accepted record of this call), then
   * created; a document that is already there with the same fields counts as already imported, a
   * different one rejects its record (nothing is overwritten). Nothing is written for a rejected
   * record. For a service token with the import scope (validate: dry runs only) and for owners and
   * admins, while the tenant is writable. Needs TENANTRY_APP on the server.
   */
  importRecords: ImportReport;
  /**
   * Invites an address (owners and admins: any role but OWNER; managers: MEMBER and VIEWER). The
   * invitation holds a seat until it is accepted, revoked or expires: SEAT_LIMIT_REACHED when active
   * members plus pending invitations would exceed the seat cap, INVITATION_LIMIT_REACHED at the
   * plan's pending limit. An address with a pending invitation gets that invitation back; a member's
   * address is BAD_USER_INPUT. The link is emailed; it expires after the tenant's
   * invitationExpiryDays (default 7).
   */
  inviteMember: Invitation;
  /**
   * Invites every address of the list or none (same rules as inviteMember; the caps are checked for
   * the whole batch, and addresses with a pending invitation get it back without using a seat).
   * Answers in the order of input.emails. (Addition to the contract.)
   */
  inviteMembers: Array<Invitation>;
  /**
   * Ends the caller's own membership and frees its seat (like removeMember of oneself); audited as
   * member.left. The owner cannot leave (FORBIDDEN): transfer ownership first. (Addition to the
   * contract.)
   */
  leaveTenant: Scalars['Boolean']['output'];
  /**
   * Lifts a staff suspension (platform roles SUPER_ADMIN and SUPPORT): the tenant returns to the
   * status billing last asked for, or, where billing has not settled it, the trial clock's (TRIAL
   * while the trial runs; afterwards ACTIVE with a signed contract, TRIAL_EXPIRED without). A
   * tenant not in a staff suspension is INVALID_TRANSITION.
   */
  liftSuspension: Tenant;
  /**
   * Provisions the tenant of a signed contract (platform roles SALES and SUPER_ADMIN) through the
   * same provisioning as provisionTenant, with the contract's terms: its plan and seat cap,
   * trialEndsAt = goLiveDate, source SALES_ASSISTED, the contract record, and an owner invitation to
   * the named admin (the caller does not become a member). With existingTenantId it converts that
   * evaluation tenant in place instead. Idempotent by key like provisionTenant; every call is in the
   * tenant's audit log.
   */
  provisionContractTenant: ProvisionTenantPayload;
  provisionTenant: ProvisionTenantPayload;
  /**
   * Brings a CANCELLED tenant back, with everything it had, to the status billing and the trial
   * clock say (ACTIVE or PAST_DUE for a live subscription; otherwise TRIAL while the trial runs,
   * ACTIVE with a signed contract, else TRIAL_EXPIRED, from which the owner can pay through
   * Checkout). Super admins only; reason is audited (tenant.reactivate). INVALID_TRANSITION once the
   * retention has ended or the purge has begun. (Addition to the contract.)
   */
  reactivateTenant: Tenant;
  /** Gives the domain up; another organization may claim it afterwards. */
  removeDomain: Scalars['Boolean']['output'];
  /** Owners and admins remove members (never the owner); any other member may remove themself. */
  removeMember: Scalars['Boolean']['output'];
  /** Emails a new link with a new expiry; the previous link stops working. Rate limited per invitation. */
  resendInvitation: Invitation;
  /** Revokes a pending invitation and frees its seat; its link stops working. */
  revokeInvitation: Invitation;
  /**
   * Revokes a service token at once, on every replica (owners and admins, while the tenant is
   * readable, so a read-only tenant can still revoke a leaked token). Revoking again returns it
   * unchanged.
   */
  revokeServiceToken: ServiceToken;
  /** Changes what a signup at the domain does (owners and admins). */
  setDomainEnrollment: Domain;
  /** Sets how many days new invitations stay valid (1 to 30); owners and admins. (Addition to the contract.) */
  setInvitationExpiryDays: Tenant;
  /**
   * Replaces a member's app roles (owners and admins, while the tenant is writable; never on a
   * member whose role is above yours). Duplicates count once; an empty list removes them all. An
   * app role the application does not declare (tenantry.app.yaml) is BAD_USER_INPUT on appRoles.
   * Audited as member.app_roles_changed.
   */
  setMemberAppRoles: Member;
  /**
   * Moves a tenant along its lifecycle: provisioning → trial, active, cancelled; trial →
   * trial_expired, active, past_due, suspended, cancelled; trial_expired → trial, active, suspended,
   * cancelled; active → past_due, suspended, cancelled; past_due → active, suspended, cancelled;
   * suspended → trial, trial_expired, active, past_due, cancelled; cancelled is final. Anything else
   * is INVALID_TRANSITION. Who may set what: SUPER_ADMIN any status; SUPPORT only SUSPENDED, and
   * lifting a staff suspension to the status billing and the trial clock say (see liftSuspension);
   * anything else is FORBIDDEN. Billing events never lift a staff suspension. reason (3 to 500
   * characters) is kept in the history and the audit log.
   */
  setTenantStatus: Tenant;
  /** The owner makes another member the owner and becomes an admin, atomically. */
  transferOwnership: Tenant;
  /** Looks the challenge up in DNS now; VERIFIED once found, otherwise unchanged (lastCheckedAt moves). */
  verifyDomain: Domain;
};


export type MutationAcceptInvitationArgs = {
  token: Scalars['String']['input'];
};


export type MutationAddDomainArgs = {
  domain: Scalars['String']['input'];
  enrollment: InputMaybe<DomainEnrollment>;
  tenantId: Scalars['ID']['input'];
};


export type MutationApproveJoinRequestArgs = {
  id: Scalars['ID']['input'];
};


export type MutationChangeMemberRoleArgs = {
  role: Role;
  tenantId: Scalars['ID']['input'];
  userId: Scalars['ID']['input'];
};


export type MutationCreateBillingPortalSessionArgs = {
  tenantId: Scalars['ID']['input'];
};


export type MutationCreateCheckoutSessionArgs = {
  planId: Scalars['ID']['input'];
  tenantId: Scalars['ID']['input'];
};


export type MutationCreateServiceTokenArgs = {
  input: CreateServiceTokenInput;
};


export type MutationDeclineJoinRequestArgs = {
  id: Scalars['ID']['input'];
};


export type MutationExportTenantArgs = {
  tenantId: Scalars['ID']['input'];
};


export type MutationExtendTrialArgs = {
  reason: Scalars['String']['input'];
  tenantId: Scalars['ID']['input'];
  trialEndsAt: Scalars['Time']['input'];
};


export type MutationImportMembersArgs = {
  input: ImportMembersInput;
};


export type MutationImportRecordsArgs = {
  input: ImportRecordsInput;
};


export type MutationInviteMemberArgs = {
  input: InviteMemberInput;
};


export type MutationInviteMembersArgs = {
  input: InviteMembersInput;
};


export type MutationLeaveTenantArgs = {
  tenantId: Scalars['ID']['input'];
};


export type MutationLiftSuspensionArgs = {
  reason: Scalars['String']['input'];
  tenantId: Scalars['ID']['input'];
};


export type MutationProvisionContractTenantArgs = {
  input: ProvisionContractTenantInput;
};


export type MutationProvisionTenantArgs = {
  input: ProvisionTenantInput;
};


export type MutationReactivateTenantArgs = {
  reason: Scalars['String']['input'];
  tenantId: Scalars['ID']['input'];
};


export type MutationRemoveDomainArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRemoveMemberArgs = {
  tenantId: Scalars['ID']['input'];
  userId: Scalars['ID']['input'];
};


export type MutationResendInvitationArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRevokeInvitationArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRevokeServiceTokenArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSetDomainEnrollmentArgs = {
  enrollment: DomainEnrollment;
  id: Scalars['ID']['input'];
};


export type MutationSetInvitationExpiryDaysArgs = {
  days: Scalars['Int']['input'];
  tenantId: Scalars['ID']['input'];
};


export type MutationSetMemberAppRolesArgs = {
  appRoles: Array<Scalars['String']['input']>;
  tenantId: Scalars['ID']['input'];
  userId: Scalars['ID']['input'];
};


export type MutationSetTenantStatusArgs = {
  reason: Scalars['String']['input'];
  status: TenantStatus;
  tenantId: Scalars['ID']['input'];
};


export type MutationTransferOwnershipArgs = {
  tenantId: Scalars['ID']['input'];
  userId: Scalars['ID']['input'];
};


export type MutationVerifyDomainArgs = {
  id: Scalars['ID']['input'];
};

export type PageInfo = {
  /** The cursor of the last edge; pass it as `after` for the next page. Null on an empty page. */
  endCursor: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

export type Plan = {
  /**
   * Days a tenant on the plan keeps writing after a failed payment (PAST_DUE, with a banner);
   * 0: writes close on the first failed payment. A contract may set its own. (Addition.)
   */
  graceDays: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  pendingInvitationLimit: Scalars['Int']['output'];
  /**
   * True when the plan is priced per seat: the seats bought in the billing portal (the
   * subscription's quantity) set the tenant's seat cap. (Addition.)
   */
  perSeat: Scalars['Boolean']['output'];
  seatCap: Scalars['Int']['output'];
  /**
   * True when a customer may pick the plan at signup (provisionTenant). A plan with false is sold
   * by sales only (provisionContractTenant): show "contact sales" for it.
   */
  selfServe: Scalars['Boolean']['output'];
  trialDays: Scalars['Int']['output'];
};

export type PlatformRole =
  | 'SALES'
  | 'SUPER_ADMIN'
  | 'SUPPORT';

export type ProvisionContractTenantInput = {
  /** The customer's named admin: they receive an owner invitation (valid 30 days) that holds a seat. */
  adminContact: ContactInput;
  /** The CRM's reference, 1 to 100 characters. */
  contractReference: Scalars['String']['input'];
  /** Converts this evaluation tenant (TRIAL or TRIAL_EXPIRED) in place instead of provisioning a new one; its members and data are kept. */
  existingTenantId?: InputMaybe<Scalars['ID']['input']>;
  /** In the future, at most two years ahead: the tenant is a TRIAL until then, and ACTIVE from then on. */
  goLiveDate: Scalars['Time']['input'];
  /** Days of writing after a failed payment, 0 to 90, instead of the plan's graceDays. (Addition.) */
  graceDays?: InputMaybe<Scalars['Int']['input']>;
  /** Generated when the form is filled in; 8 to 255 characters. Repeats return the first result, per staff member. */
  idempotencyKey: Scalars['String']['input'];
  /** The customer's organization (1 to 100 characters). Converting keeps the organization's own name. */
  organizationName: Scalars['String']['input'];
  /** The contract's plan (see the plans query); any plan, selfServe or not. */
  planId: Scalars['ID']['input'];
  /** The contracted seats, 1 to 100000; may exceed the plan's seat cap. */
  seatCap: Scalars['Int']['input'];
  /** Pre-configured subdomain; SUBDOMAIN_TAKEN when another organization has it. */
  subdomain?: InputMaybe<Scalars['String']['input']>;
};

export type ProvisionTenantInput = {
  /** Generated by the client when the signup form is shown; 8 to 255 characters. Repeats return the first result. */
  idempotencyKey: Scalars['String']['input'];
  organizationName: Scalars['String']['input'];
  /** Defaults to the self-serve trial plan. A plan that is not selfServe is BAD_USER_INPUT: it is sold by sales only. */
  planId?: InputMaybe<Scalars['ID']['input']>;
  subdomain?: InputMaybe<Scalars['String']['input']>;
};

export type ProvisionTenantPayload = {
  /** True when the answer comes from an earlier call with the same idempotency key. */
  replayed: Scalars['Boolean']['output'];
  tenant: Tenant;
};

export type ProvisioningSource =
  | 'SALES_ASSISTED'
  | 'SELF_SERVE';

export type Query = {
  me: Viewer;
  plans: Array<Plan>;
  /**
   * Public: the organization that owns the email's domain, once that domain is VERIFIED; null
   * otherwise (unknown, PENDING or FAILED). Rate limited per client address (RATE_LIMITED).
   */
  signupRouting: Maybe<SignupRouting>;
  tenant: Maybe<Tenant>;
  /**
   * Every tenant, newest first, for platform staff (SUPER_ADMIN, SALES, SUPPORT); FORBIDDEN for
   * anyone else. first is 1 to 100; pass pageInfo.endCursor as after for the next page.
   * (Addition to the contract.)
   */
  tenants: TenantConnection;
};


export type QuerySignupRoutingArgs = {
  email: Scalars['String']['input'];
};


export type QueryTenantArgs = {
  id: Scalars['ID']['input'];
};


export type QueryTenantsArgs = {
  after: InputMaybe<Scalars['String']['input']>;
  filter: InputMaybe<TenantFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type Role =
  | 'ADMIN'
  | 'MANAGER'
  | 'MEMBER'
  | 'OWNER'
  | 'VIEWER';

/**
 * A tenant-scoped service token, for integrations such as a data migration. Its secret is shown
 * once, by createServiceToken; only a hash of it is stored.
 */
export type ServiceToken = {
  createdAt: Scalars['Time']['output'];
  /** Null: valid until revoked. */
  expiresAt: Maybe<Scalars['Time']['output']>;
  /** The token's id, also part of the token itself (tnt_<id>_<secret>). */
  id: Scalars['ID']['output'];
  /** When the token was last used, to the minute. */
  lastUsedAt: Maybe<Scalars['Time']['output']>;
  name: Scalars['String']['output'];
  revokedAt: Maybe<Scalars['Time']['output']>;
  /** import (importRecords), validate (importRecords with dryRun only) and members (importMembers). */
  scopes: Array<Scalars['String']['output']>;
};

export type ServiceTokenSecret = {
  serviceToken: ServiceToken;
  /** Starts with tnt_; shown once: store it in your secret manager now. */
  token: Scalars['String']['output'];
};

/** Where a signup at a verified domain goes: the organization's name and what joining does. */
export type SignupRouting = {
  enrollment: DomainEnrollment;
  tenantName: Scalars['String']['output'];
};

export type Tenant = {
  access: TenantAccess;
  /**
   * Staff actions and status changes, newest first, at most `first` (1 to 200): who (user or
   * system, with their platform role), what, why, when, from which request, and each changed field
   * before and after. Readable by owners and admins while the status allows reads, and by platform
   * staff; null with an error for anyone else. (Addition to the contract.)
   */
  auditLog: Maybe<Array<AuditEntry>>;
  /**
   * The tenant's billing, for its owner only, in every status but CANCELLED. For anyone else it is
   * null with an error (FORBIDDEN for other members, TENANT_SUSPENDED once cancelled), so the rest
   * of the tenant still answers. (Addition to the contract.)
   */
  billing: Maybe<TenantBilling>;
  /**
   * The signed contract, for platform staff; null when the tenant has none. Anyone else gets null
   * with FORBIDDEN (or NOT_FOUND), so the rest of the tenant still answers. (Addition to the
   * contract.)
   */
  contract: Maybe<Contract>;
  createdAt: Scalars['Time']['output'];
  /** The organization's claimed email domains, by name, for owners and admins. */
  domains: Array<Domain>;
  /** The tenant's exports, newest first (at most 50), for its owners while the tenant is readable, and platform staff. (Addition to the contract.) */
  exports: Array<Export>;
  /**
   * While PAST_DUE: when the grace after the failed payment ends and writes close (access.reason
   * says so); null when there is no grace. (Addition.)
   */
  graceEndsAt: Maybe<Scalars['Time']['output']>;
  id: Scalars['ID']['output'];
  /** How many days a new invitation stays valid: the tenant's setting (1 to 30), 7 by default. (Addition to the contract.) */
  invitationExpiryDays: Scalars['Int']['output'];
  /**
   * The tenant's invitations, newest first (at most 200), for owners and admins (the roles the
   * Firestore rules let read them) and for platform staff. status filters by the status as of now: a pending invitation past its expiry is
   * EXPIRED even before the expire-invitations job has run.
   */
  invitations: Array<Invitation>;
  /** Join requests from signups at the organization's domains, oldest first, for owners and admins. (Addition to the contract.) */
  joinRequests: Array<JoinRequest>;
  members: Array<Member>;
  name: Scalars['String']['output'];
  /**
   * When the owner's Firebase account was deleted, leaving the organization without an owner until
   * platform staff appoint one (its admins were emailed); null while it has an owner. (Addition to
   * the contract.)
   */
  ownerlessSince: Maybe<Scalars['Time']['output']>;
  /** Pending invitations that have not expired, counted as of now (each holds a seat). */
  pendingInvitations: Scalars['Int']['output'];
  plan: Plan;
  /**
   * For a CANCELLED tenant, when the purge-cancelled-tenants job may delete it and everything it
   * holds (TENANTRY_CANCELLED_RETENTION after cancellation, 30 days by default); until then a super
   * admin can reactivate it. Null for every other status. (Addition to the contract.)
   */
  purgeAfter: Maybe<Scalars['Time']['output']>;
  seatCap: Scalars['Int']['output'];
  seatsUsed: Scalars['Int']['output'];
  /** The tenant's service tokens, newest first (at most 200), for owners and admins while the tenant is readable, and platform staff. */
  serviceTokens: Array<ServiceToken>;
  source: ProvisioningSource;
  status: TenantStatus;
  /**
   * Status changes (and trial extensions), newest first, at most `first` (1 to 200). Readable by
   * owners and admins while the status allows reads, and by platform staff; null with an error for
   * anyone else, so the rest of the tenant still answers. (Addition to the contract.)
   */
  statusHistory: Maybe<Array<TenantStatusChange>>;
  subdomain: Maybe<Scalars['String']['output']>;
  trialEndsAt: Maybe<Scalars['Time']['output']>;
};


export type TenantAuditLogArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type TenantInvitationsArgs = {
  status: InputMaybe<InvitationStatus>;
};


export type TenantStatusHistoryArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** What the caller may do in a tenant right now, from the same policy table the Firestore rules use. */
export type TenantAccess = {
  canRead: Scalars['Boolean']['output'];
  canWrite: Scalars['Boolean']['output'];
  /** A sentence for the SPA's banner when access is restricted, or will be when a past-due grace ends; null otherwise. */
  reason: Maybe<Scalars['String']['output']>;
};

/** The tenant's Stripe billing as its owner sees it. (Addition to the contract.) */
export type TenantBilling = {
  message: Maybe<Scalars['String']['output']>;
  /** When the trial ends or the next invoice is due; null when nothing renews. */
  nextRenewalAt: Maybe<Scalars['Time']['output']>;
  /** The plan being billed. */
  plan: Plan;
  /**
   * The Stripe subscription's status as Stripe spells it (trialing, active, past_due, unpaid,
   * canceled, incomplete, incomplete_expired, paused); null until billing setup has run, which
   * happens in the background shortly after signup.
   */
  stripeStatus: Maybe<Scalars['String']['output']>;
  /** True when the SPA should show a billing banner; message says why and what to do. */
  warning: Scalars['Boolean']['output'];
};

/** A page of the staff list of tenants, newest first. (Addition to the contract.) */
export type TenantConnection = {
  edges: Array<TenantEdge>;
  pageInfo: PageInfo;
};

export type TenantEdge = {
  /** Pass as `after` to continue after this tenant. */
  cursor: Scalars['String']['output'];
  node: Tenant;
};

/** Filters of the staff list of tenants; every given filter must match. (Addition to the contract.) */
export type TenantFilter = {
  /**
   * At least 2 letters or digits, case-insensitive: matches the start of a word of the name,
   * subdomain or contract reference ("engi" finds "Analytical Engines"), or the start of one of them
   * as a whole ("acme co", "opp-2024-00"). Punctuation counts as a space.
   */
  search?: InputMaybe<Scalars['String']['input']>;
  source?: InputMaybe<ProvisioningSource>;
  status?: InputMaybe<TenantStatus>;
};

export type TenantStatus =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'PAST_DUE'
  | 'PROVISIONING'
  | 'SUSPENDED'
  | 'TRIAL'
  | 'TRIAL_EXPIRED';

/** One change of a tenant's status, or of its trial's end, as recorded in tenants/{id}/history. (Addition to the contract.) */
export type TenantStatusChange = {
  /** The actor's platform role when they made the change. */
  actorPlatformRole: Maybe<PlatformRole>;
  /** The job or integration that made the change, e.g. expire-trials; null for users. */
  actorSystem: Maybe<Scalars['String']['output']>;
  /** The user who made the change; null when the system did (see actorSystem). */
  actorUserId: Maybe<Scalars['ID']['output']>;
  at: Scalars['Time']['output'];
  from: TenantStatus;
  reason: Scalars['String']['output'];
  /** The API request (the id the server gave it, in its X-Request-Id response header) or job run that made the change; quote it to support. */
  requestId: Maybe<Scalars['String']['output']>;
  to: TenantStatus;
  /** The trial's end after the change, when the change moved it. */
  trialEndsAt: Maybe<Scalars['Time']['output']>;
};

export type User = {
  email: Scalars['String']['output'];
  id: Scalars['ID']['output'];
};

export type Viewer = {
  memberships: Array<Membership>;
  platformRole: Maybe<PlatformRole>;
  user: User;
};

export type TenantFieldsFragment = { id: string, name: string, subdomain: string | null, status: TenantStatus, trialEndsAt: string | null, seatCap: number, seatsUsed: number, pendingInvitations: number, plan: { id: string, name: string }, access: { canRead: boolean, canWrite: boolean, reason: string | null } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { platformRole: PlatformRole | null, user: { id: string, email: string }, memberships: Array<{ role: Role, tenant: { id: string, name: string, subdomain: string | null, status: TenantStatus, trialEndsAt: string | null, seatCap: number, seatsUsed: number, pendingInvitations: number, plan: { id: string, name: string }, access: { canRead: boolean, canWrite: boolean, reason: string | null } } }> } };

export type TenantQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type TenantQuery = { tenant: { id: string, name: string, subdomain: string | null, status: TenantStatus, trialEndsAt: string | null, seatCap: number, seatsUsed: number, pendingInvitations: number, plan: { id: string, name: string }, access: { canRead: boolean, canWrite: boolean, reason: string | null } } | null };

export type ProvisionTenantMutationVariables = Exact<{
  input: ProvisionTenantInput;
}>;


export type ProvisionTenantMutation = { provisionTenant: { replayed: boolean, tenant: { id: string, name: string, subdomain: string | null, status: TenantStatus, trialEndsAt: string | null, seatCap: number, seatsUsed: number, pendingInvitations: number, plan: { id: string, name: string }, access: { canRead: boolean, canWrite: boolean, reason: string | null } } } };

export type InviteMemberMutationVariables = Exact<{
  input: InviteMemberInput;
}>;


export type InviteMemberMutation = { inviteMember: { id: string, email: string, role: Role, status: InvitationStatus, expiresAt: string } };

export type InvitationsQueryVariables = Exact<{
  tenantId: Scalars['ID']['input'];
  status: InputMaybe<InvitationStatus>;
}>;


export type InvitationsQuery = { tenant: { id: string, invitations: Array<{ id: string, email: string, role: Role, status: InvitationStatus, expiresAt: string }> } | null };

export type AcceptInvitationMutationVariables = Exact<{
  token: Scalars['String']['input'];
}>;


export type AcceptInvitationMutation = { acceptInvitation: { role: Role, tenant: { id: string, name: string, subdomain: string | null, status: TenantStatus, trialEndsAt: string | null, seatCap: number, seatsUsed: number, pendingInvitations: number, plan: { id: string, name: string }, access: { canRead: boolean, canWrite: boolean, reason: string | null } } } };
