import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The web app only ever talks to its own BFF; the BFF talks to the billing API.
  eslint: { ignoreDuringBuilds: true }, // linted by scripts/test.sh (eslint) instead
  // Development with `next dev` on 127.0.0.1 and the same app opened as localhost.
  allowedDevOrigins: ["127.0.0.1", "localhost"],
};

export default nextConfig;
