/**
 * The distribution-spec conformance suite's four workflows (pull, push,
 * content discovery, content management), in-process against the app over
 * a fresh store. The same checks run against the real `serve` over a
 * socket in the interop suite.
 */
import { conformanceWorkflows } from "../../helpers/conformance-workflows.ts";
import { registry } from "./harness.ts";

conformanceWorkflows(registry);
