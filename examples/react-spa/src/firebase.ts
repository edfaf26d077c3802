import { initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth } from "firebase/auth";
import { connectFirestoreEmulator, getFirestore } from "firebase/firestore";

import { config } from "./config";

export const app = initializeApp(config.firebase);
export const auth = getAuth(app);
export const db = getFirestore(app);

if (config.authEmulatorURL) connectAuthEmulator(auth, config.authEmulatorURL, { disableWarnings: true });
if (config.firestoreEmulatorHost) {
  const [host, port] = config.firestoreEmulatorHost.split(":");
  connectFirestoreEmulator(db, host!, Number(port));
}
