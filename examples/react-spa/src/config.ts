// The app's settings, from VITE_* variables at build time (or `vite` dev time). The defaults are
// the local stack's: Tenantry on 127.0.0.1:8080 and the Firebase emulators of scripts/stack.sh.
const env = import.meta.env;

export const config = {
  /** Tenantry's GraphQL endpoint. */
  tenantryURL: env.VITE_TENANTRY_URL ?? "http://127.0.0.1:8080/graphql",
  firebase: {
    projectId: env.VITE_FIREBASE_PROJECT_ID ?? "demo-tenantry",
    // Any key works against the Auth emulator; in production use the project's Web API key.
    apiKey: env.VITE_FIREBASE_API_KEY ?? "demo-api-key",
    authDomain: env.VITE_FIREBASE_AUTH_DOMAIN ?? "",
  },
  /** The Auth emulator's URL; "" (VITE_AUTH_EMULATOR_URL=) talks to Firebase Auth itself. */
  authEmulatorURL: env.VITE_AUTH_EMULATOR_URL ?? "http://127.0.0.1:9099",
  /** The Firestore emulator's host:port; "" talks to Firestore itself. */
  firestoreEmulatorHost: env.VITE_FIRESTORE_EMULATOR_HOST ?? "127.0.0.1:8181",
  /**
   * The application collection the data page edits, with documents { name, email }: the clinic
   * example's clients (examples/clinic/tenantry.app.yaml).
   */
  dataCollection: env.VITE_DATA_COLLECTION ?? "clients",
};
