import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The sales console is served by the Go binary at /playground: `npm run build -w
// tenantry-sales-console` writes it into internal/server/playground, which is embedded
// (go:embed) and committed. Everything it needs is bundled: the page loads nothing from another
// host.
export default defineConfig({
  base: "/playground/",
  plugins: [react()],
  build: {
    outDir: "../../internal/server/playground",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4000,
    modulePreload: { polyfill: false },
  },
});
