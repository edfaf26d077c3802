// graphql-codegen: the schema's types and one result/variables type per operation in
// src/operations.ts, written to src/generated/graphql.ts (checked in; scripts/test.sh fails when
// it drifts from schema.graphqls).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphqls",
  documents: ["src/operations.ts"],
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: {
        scalars: { Time: "string", JSON: "unknown" },
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        skipTypename: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
