"""What the Lambda binaries are built from: the workspace's default members (as `cargo lambda
build` and `sam build` resolve them) compile no contract tooling — the OpenAPI generator and its
schema derives live behind billing-core's `openapi` feature, which only tests/contract turns on."""

import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def dependents_of(crate: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["cargo", "tree", "--offline", "--edges", "normal", "--invert", crate, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_lambda_build_does_not_compile_utoipa():
    tree = dependents_of("utoipa")
    # cargo says the package is not in the graph at all.
    assert tree.returncode != 0 and "did not match any packages" in tree.stderr, tree.stdout


def test_the_contract_tool_does():
    tree = dependents_of("utoipa", "--workspace")
    assert tree.returncode == 0 and "billing-contract" in tree.stdout, tree.stderr


def test_the_lambda_build_has_no_credential_chain_or_trust_store_loader():
    # shared/src/aws.rs builds the SdkConfig from the environment and shared/src/https.rs compiles
    # the trust roots in: aws-config (profile files, SSO, STS, IMDS) and the OS trust-store loader
    # must not creep back through a feature or a new dependency.
    for crate in ("aws-config", "aws-sdk-sts", "aws-smithy-http-client", "rustls-native-certs"):
        tree = dependents_of(crate)
        # Not in the lock file at all, or there only for tests (aws-smithy-mocks): no normal edge.
        absent = tree.returncode != 0 and "did not match any packages" in tree.stderr
        assert absent or "nothing to print" in tree.stderr, (crate, tree.stdout)
