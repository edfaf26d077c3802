import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `make spa` serves this app on http://127.0.0.1:5173 (an origin TENANTRY_ALLOWED_ORIGINS allows
// by default). Its settings are VITE_* variables, read in src/config.ts.
export default defineConfig({
  plugins: [react()],
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 5173, strictPort: true },
  build: { chunkSizeWarningLimit: 1500 },
});
