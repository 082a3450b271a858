export * from "./access-log.ts";
export * from "./app.ts";
export * from "./basic-auth.ts";
export * from "./context.ts";
export * from "./htpasswd.ts";
export * from "./routes.ts";
export * from "./server.ts";
