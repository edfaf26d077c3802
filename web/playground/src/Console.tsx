import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { useEditorContext, type GraphiQLPlugin } from "@graphiql/react";
import { initializeApp } from "firebase/app";
import { browserLocalPersistence, connectAuthEmulator, indexedDBLocalPersistence, initializeAuth, type Auth } from "firebase/auth";
import { GraphiQL } from "graphiql";
import { useEffect, useMemo } from "react";

import type { ConsoleConfig } from "./config";
import { SAVED_OPERATIONS } from "./operations";
import { SignInPanel } from "./SignIn";

/** The sales console: the sign-in panel above GraphiQL, with the saved sales operations as a plugin. */
export function Console({ config }: { config: ConsoleConfig }) {
  const auth = useMemo(() => firebaseAuth(config), [config]);
  const fetcher = useMemo(() => createGraphiQLFetcher({ url: config.graphqlURL, fetch: withIDToken(auth) }), [auth, config]);
  useEffect(openSalesTasks, []);
  return (
    <div className="console">
      <SignInPanel auth={auth} config={config} />
      <div className="graphiql-host">
        <GraphiQL
          fetcher={fetcher}
          plugins={[salesTasks]}
          defaultQuery={SAVED_OPERATIONS[SAVED_OPERATIONS.length - 1]!.query}
          defaultEditorToolsVisibility="variables"
        />
      </div>
    </div>
  );
}

// No popup/redirect resolver here: it would load Google's scripts at start; Google sign-in in
// production passes it to signInWithPopup when the button is pressed (SignIn.tsx).
function firebaseAuth(config: ConsoleConfig): Auth | null {
  if (!config.apiKey) return null;
  const app = initializeApp({ apiKey: config.apiKey, authDomain: config.authDomain || undefined, projectId: config.projectId });
  const auth = initializeAuth(app, { persistence: [indexedDBLocalPersistence, browserLocalPersistence] });
  if (config.authEmulatorURL) connectAuthEmulator(auth, config.authEmulatorURL, { disableWarnings: true });
  return auth;
}

/**
 * Every request GraphiQL sends carries the signed-in user's ID token as its Authorization header,
 * unless the Headers tab sets one. getIdToken() refreshes the token before it expires, so a
 * console left open all day keeps working.
 */
function withIDToken(auth: Auth | null): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const user = auth?.currentUser;
    if (user && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${await user.getIdToken()}`);
    return fetch(input, { ...init, headers });
  };
}

/**
 * Opens the sales tasks pane once the page is up, as its sidebar button does. (GraphiQL decides
 * at its first render, before its visiblePlugin prop applies, that the pane starts hidden, and
 * only the button also shows the pane.)
 */
function openSalesTasks() {
  let frames = 0;
  const step = () => {
    const button = document.querySelector<HTMLButtonElement>(`.graphiql-sidebar button[aria-label="Show ${salesTasks.title}"]`);
    if (button) button.click();
    else if (frames++ < 120) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

function SalesTasks() {
  const editors = useEditorContext({ nonNull: true });
  const open = (i: number) => {
    const op = SAVED_OPERATIONS[i]!;
    editors.queryEditor?.setValue(op.query);
    editors.variableEditor?.setValue(JSON.stringify(op.variables(), null, 2));
  };
  return (
    <div className="tasks">
      <div className="graphiql-doc-explorer-title">Sales tasks</div>
      <p className="tasks-intro">Open a task, edit its variables, then run it (▶ or Ctrl-Enter).</p>
      {SAVED_OPERATIONS.map((op, i) => (
        <button key={op.title} className="task" onClick={() => open(i)}>
          <strong>{op.title}</strong>
          <span>{op.description}</span>
        </button>
      ))}
    </div>
  );
}

const salesTasks: GraphiQLPlugin = {
  title: "Sales tasks",
  icon: () => (
    <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.6" aria-hidden>
      <rect x="4" y="3" width="16" height="18" rx="2" />
      <path d="M8 8h8M8 12h8M8 16h5" />
    </svg>
  ),
  content: SalesTasks,
};

