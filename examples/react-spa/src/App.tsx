import { useTenantry } from "@tenantry/react";
import { signOut } from "firebase/auth";
import type { ReactNode } from "react";

import { auth } from "./firebase";
import { AcceptInvitationPage } from "./pages/AcceptInvitation";
import { DataPage } from "./pages/Data";
import { HomePage } from "./pages/Home";
import { SignInPage } from "./pages/SignIn";
import { TenantPage } from "./pages/Tenant";
import { Link, useLocation } from "./router";

export function App() {
  const { user, authReady } = useTenantry();
  const { path, query } = useLocation();
  if (!authReady) return <Shell>{null}</Shell>;
  if (path === "/invitations/accept") {
    return (
      <Shell>
        <AcceptInvitationPage token={query.get("token")} />
      </Shell>
    );
  }
  if (!user) {
    return (
      <Shell>
        <SignInPage />
      </Shell>
    );
  }
  const tenant = path.match(/^\/tenants\/([^/]+)(\/.*)?$/);
  let page: ReactNode = <HomePage />;
  if (tenant) {
    const id = decodeURIComponent(tenant[1]!);
    page = tenant[2] === "/data" ? <DataPage tenantId={id} /> : <TenantPage tenantId={id} />;
  }
  return <Shell>{page}</Shell>;
}

function Shell({ children }: { children: ReactNode }) {
  const { user } = useTenantry();
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="logo" aria-hidden>
            ✚
          </span>
          Clinicly
        </Link>
        {user && (
          <div className="who">
            <span data-testid="signed-in-as">{user.email}</span>
            <button className="link" onClick={() => void signOut(auth)}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main>{children}</main>
      <footer>An example SPA on Tenantry · React, Firebase Auth, Firestore</footer>
    </div>
  );
}
