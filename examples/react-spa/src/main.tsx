import { TenantryProvider } from "@tenantry/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { config } from "./config";
import { auth } from "./firebase";
import "./styles.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <TenantryProvider url={config.tenantryURL} auth={auth}>
      <App />
    </TenantryProvider>
  </StrictMode>,
);
