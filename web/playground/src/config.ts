// The console's Firebase configuration comes from the server (GET /playground/config.json, built
// from GOOGLE_CLOUD_PROJECT, FIREBASE_AUTH_EMULATOR_HOST and TENANTRY_FIREBASE_*), so one build
// serves every deployment.
export interface ConsoleConfig {
  projectId: string;
  /** "" when sign-in is not configured (production without TENANTRY_FIREBASE_API_KEY). */
  apiKey: string;
  authDomain: string;
  /** The Auth emulator's URL when the server runs against it, else "". */
  authEmulatorURL: string;
  /** The GraphQL endpoint, on this server. */
  graphqlURL: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch("/playground/config.json");
  if (!res.ok) throw new Error(`GET /playground/config.json answered ${res.status}`);
  return (await res.json()) as ConsoleConfig;
}
