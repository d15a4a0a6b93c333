import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { FlatCompat } from "@eslint/eslintrc";

const compat = new FlatCompat({ baseDirectory: dirname(fileURLToPath(import.meta.url)) });

const config = [
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      "storybook-static/**",
      "test-results/**",
      "playwright-report/**",
      "src/api/schema.d.ts",
      "next-env.d.ts",
    ],
  },
  ...compat.extends("next/core-web-vitals", "next/typescript"),
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@/server/*", "**/server/*"],
              message: "server code (token, API client) must not be imported by client components",
            },
          ],
        },
      ],
    },
  },
  {
    // The server layers and the BFF may use each other.
    files: ["src/server/**", "src/app/api/**", "src/app/**/page.tsx", "src/app/**/layout.tsx", "src/app/**/route.ts"],
    rules: { "no-restricted-imports": "off" },
  },
];

export default config;
