/** The admin API described in OpenAPI 3.1, served at GET /api/v1/openapi.json. Written by hand; a test checks it lists every route. */
import { VERSION } from "../version.ts";

const error = { $ref: "#/components/responses/Error" };
const unauthorized = { $ref: "#/components/responses/Unauthorized" };
const json = (schema: unknown) => ({ "application/json": { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jobResponse = (status: string, description: string) => ({
  [status]: { description, content: json({ type: "object", required: ["job"], properties: { job: ref("Job") } }) },
});

export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "stevedore admin API",
    version: VERSION,
    description:
      "Inspect and drive a stevedore registry: repositories, tags, usage, imports into the store, garbage collection, metrics. " +
      "Every /api/ route and /metrics need `Authorization: Bearer TOKEN` (the content of --admin-token-file). " +
      "Errors are `{\"error\": {\"code\", \"message\"}}`.",
  },
  security: [{ bearer: [] }],
  paths: {
    "/healthz": {
      get: { summary: "Liveness", security: [], responses: { "200": { description: "The process answers", content: json({ type: "object", properties: { status: { const: "ok" } } }) } } },
    },
    "/readyz": {
      get: {
        summary: "Readiness: the metadata database and the blob storage answer",
        security: [],
        responses: {
          "200": { description: "Ready", content: json(ref("Readiness")) },
          "503": { description: "Not ready; `checks` says which part failed", content: json(ref("Readiness")) },
        },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics (text format 0.0.4)",
        responses: { "200": { description: "Metrics", content: { "text/plain": { schema: { type: "string" } } } }, "401": unauthorized },
      },
    },
    "/api/v1/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" }, "401": unauthorized } } },
    "/api/v1/repositories": {
      get: {
        summary: "Repositories with tag count, size and last push, in name order",
        parameters: [
          { name: "n", in: "query", schema: { type: "integer", minimum: 1, maximum: 10000, default: 1000 } },
          { name: "last", in: "query", description: "Start after this name (the `next` of the previous page)", schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "A page of repositories; `next` is present when there may be more",
            content: json({ type: "object", properties: { repositories: { type: "array", items: ref("Repository") }, next: { type: "string" } } }),
          },
          "400": error,
          "401": unauthorized,
        },
      },
    },
    "/api/v1/repositories/{name}/tags": {
      get: {
        summary: "Tags of a repository: digest, media type, platforms of an index, size, pushed, last pulled",
        parameters: [{ name: "name", in: "path", required: true, description: "Repository name; may contain slashes (written as they are)", schema: { type: "string" } }],
        responses: {
          "200": { description: "Tags in name order", content: json({ type: "object", properties: { repository: { type: "string" }, tags: { type: "array", items: ref("Tag") } } }) },
          "400": error,
          "401": unauthorized,
          "404": error,
        },
      },
    },
    "/api/v1/usage": {
      get: { summary: "Bytes stored: totals, shared and unique bytes per repository", responses: { "200": { description: "Usage", content: json(ref("Usage")) }, "401": unauthorized } },
    },
    "/api/v1/sync": {
      post: {
        summary: "Import images from a path on this node (bundle, OCI layout, any transport string) into the store, as a job",
        requestBody: { required: true, content: json(ref("SyncRequest")) },
        responses: { ...jobResponse("202", "The job, queued"), "400": error, "401": unauthorized, "413": error },
      },
    },
    "/api/v1/gc": {
      post: {
        summary: "Garbage collection of the store, as a job (the collector of stevedore gc; safe while clients push)",
        requestBody: { required: false, content: json(ref("GcRequest")) },
        responses: { ...jobResponse("202", "The job, queued"), "400": error, "401": unauthorized, "501": error },
      },
    },
    "/api/v1/jobs": {
      get: { summary: "Jobs, newest first (finished ones are kept up to 100; a restart forgets them)", responses: { "200": { description: "Jobs", content: json({ type: "object", properties: { jobs: { type: "array", items: ref("Job") } } }) }, "401": unauthorized } },
    },
    "/api/v1/jobs/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      get: { summary: "One job with live progress", responses: { ...jobResponse("200", "The job"), "401": unauthorized, "404": error } },
      delete: {
        summary: "Cancel a job: a queued job ends at once, a running one stops as soon as its work notices",
        responses: { ...jobResponse("202", "Cancel requested"), "401": unauthorized, "404": error, "409": error },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    responses: {
      Error: { description: "An error", content: json(ref("Error")) },
      Unauthorized: { description: "Missing, malformed or wrong bearer token", content: json(ref("Error")) },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: { enum: ["UNAUTHORIZED", "INVALID_REQUEST", "NOT_FOUND", "NAME_INVALID", "NAME_UNKNOWN", "JOB_FINISHED", "PAYLOAD_TOO_LARGE", "NOT_IMPLEMENTED", "UNAVAILABLE", "INTERNAL"] },
              message: { type: "string" },
              issues: { type: "array", description: "For INVALID_REQUEST from validation", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
            },
          },
        },
      },
      Readiness: { type: "object", properties: { status: { enum: ["ready", "unavailable"] }, checks: { type: "object", properties: { metadata: { type: "string" }, blobs: { type: "string" } } } } },
      Repository: {
        type: "object",
        required: ["name", "tags", "manifests", "size"],
        properties: {
          name: { type: "string" },
          tags: { type: "integer" },
          manifests: { type: "integer" },
          size: { type: "integer", description: "Bytes of the distinct blobs its manifests reference, plus the manifests" },
          lastPush: { type: "string", format: "date-time" },
        },
      },
      Tag: {
        type: "object",
        required: ["tag", "digest", "mediaType", "size", "pushed"],
        properties: {
          tag: { type: "string" },
          digest: { type: "string" },
          mediaType: { type: "string" },
          platforms: { type: "array", items: { type: "string" }, description: "For an index: os/arch[/variant] of each entry" },
          size: { type: "integer", description: "Every distinct blob and manifest the tag reaches, counted once" },
          pushed: { type: "string", format: "date-time" },
          lastPulled: { type: "string", format: "date-time" },
        },
      },
      Usage: {
        type: "object",
        properties: {
          blobs: ref("Count"),
          manifests: ref("Count"),
          shared: { ...ref("Count"), description: "Blobs referenced by more than one repository" },
          unreferenced: { ...ref("Count"), description: "Blobs no manifest references (gc sweeps them after the grace window)" },
          logicalBytes: { type: "integer", description: "Sum of the repositories' bytes: the size without de-duplication" },
          repositories: {
            type: "array",
            items: {
              type: "object",
              properties: { name: { type: "string" }, blobs: { type: "integer" }, bytes: { type: "integer" }, uniqueBytes: { type: "integer" }, sharedBytes: { type: "integer" } },
            },
          },
        },
      },
      Count: { type: "object", properties: { count: { type: "integer" }, bytes: { type: "integer" } } },
      SyncRequest: {
        type: "object",
        required: ["source"],
        additionalProperties: false,
        properties: {
          source: { type: "string", description: "An absolute path on this node (bundle .tar, OCI layout directory) or a transport string (oci:DIR, oci-archive:FILE, docker-archive:FILE, docker://HOST/REPO, store:DIR)" },
          prefix: { type: "string", description: "A repository path in front of every imported repository" },
          platforms: { type: "array", items: { type: "string" }, description: "Copy only these platforms (os/arch[/variant]) of multi-arch images" },
          repository: { type: "string", description: "Repository for layout entries named by a bare tag" },
          keepGoing: { type: "boolean", description: "Go on with other images after one fails" },
          referrers: { type: "boolean", description: "Also copy referrers (signatures, SBOMs)" },
          force: { type: "boolean", description: "Walk images the store already has and check every blob" },
          parallel: { type: "integer", minimum: 1, maximum: 64 },
        },
      },
      GcRequest: {
        type: "object",
        additionalProperties: false,
        properties: {
          keep: {
            type: "array",
            items: { type: "string" },
            description: "References of images that must stay (docker.io/library/nginx:1.25 keeps library/nginx:1.25); every other tag, and what only those tags reached, is removed. Absent: no tag is removed by a keep list",
          },
          prefix: { type: "string", description: "The images were synced under this repository prefix" },
          dryRun: { type: "boolean", description: "Report what would be removed; remove nothing" },
          deleteUntagged: { type: "boolean", description: "Also remove manifests no tag reaches" },
          graceSeconds: { type: "integer", minimum: 0, description: "Nothing pushed, tagged or linked more recently is removed (default 3600)" },
          keepRecent: { type: "integer", minimum: 1, description: "Retention: keep the N most recently pushed tags of each repository" },
          keepWithinSeconds: { type: "integer", minimum: 1, description: "Retention: keep tags pushed or pulled within this window" },
          tagPattern: { type: "string", description: "The tags retention applies to (regular expression over the whole tag)" },
          force: { type: "boolean", description: "Run even though the keep list matches nothing in the store (removes every image)" },
        },
      },
      Job: {
        type: "object",
        required: ["id", "kind", "state", "request", "progress", "createdAt"],
        properties: {
          id: { type: "string" },
          kind: { enum: ["sync", "gc"] },
          state: { enum: ["queued", "running", "succeeded", "failed", "cancelled"] },
          request: { type: "object" },
          progress: {
            type: "object",
            properties: {
              bytes: { type: "object", properties: { done: { type: "integer" }, total: { type: "integer" } } },
              images: { type: "object", properties: { done: { type: "integer" }, total: { type: "integer" }, failed: { type: "integer" } } },
              phase: { type: "string" },
            },
          },
          createdAt: { type: "string", format: "date-time" },
          startedAt: { type: "string", format: "date-time" },
          finishedAt: { type: "string", format: "date-time" },
          error: { type: "string" },
          report: { type: "object", description: "sync: the copy summary (images, blobs, bytes, failures, warnings); gc: the collector's report" },
          cancelRequested: { type: "boolean" },
        },
      },
    },
  },
} as const;
