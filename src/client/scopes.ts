/** Token scopes (distribution's token auth): `repository:NAME:ACTIONS`, `registry:catalog:*`. */
export const pullScope = (repository: string) => `repository:${repository}:pull`;
export const pushScope = (repository: string) => `repository:${repository}:pull,push`;
export const deleteScope = (repository: string) => `repository:${repository}:delete`;
export const CATALOG_SCOPE = "registry:catalog:*";
