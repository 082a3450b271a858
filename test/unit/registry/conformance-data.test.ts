/**
 * The distribution-spec conformance runner's checks (every upload method
 * with sha256 and sha512, ranges, empty blobs, bad digests, its data sets,
 * tag parameters, atomic deletes), in-process against the app over a
 * fresh store. The same checks run against the real `serve` over a socket
 * in the interop suite.
 */
import { conformanceRunner } from "../../helpers/conformance-runner.ts";
import { registry } from "./harness.ts";

await conformanceRunner(registry);
