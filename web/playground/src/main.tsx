import "graphiql/style.css";
import "./styles.css";

import { createRoot } from "react-dom/client";

import { Console } from "./Console";
import { loadConfig } from "./config";

const root = createRoot(document.getElementById("root")!);
loadConfig().then(
  (config) => root.render(<Console config={config} />),
  (err: Error) => root.render(<p className="fatal">The console could not load its configuration: {err.message}</p>),
);
