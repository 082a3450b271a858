/**
 * The reference grammar, composed from named sub-patterns as the CNCF
 * distribution project writes it. Unanchored patterns compose into routes
 * and other patterns; anchored ones parse. No pattern here has a capturing
 * group except those built with `capture`, so they can be used in Hono
 * routes as they are.
 *
 *   reference      := name [ ":" tag ] [ "@" digest ]
 *   name           := [domain '/'] remote-name
 *   domain         := host [':' port-number]
 *   host           := domain-name | '[' ipv6 ']'
 *   domain-name    := domain-component ['.' domain-component]*
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   port-number    := /[0-9]+/
 *   remote-name    := path-component ['/' path-component]*
 *   path-component := alpha-numeric [separator alpha-numeric]*
 *   alpha-numeric  := /[a-z0-9]+/
 *   separator      := /[_.]|__|[-]+/
 *   tag            := /[\w][\w.-]{0,127}/
 *   digest         := algorithm ":" hex
 *   identifier     := /[a-f0-9]{64}/
 *   short-identifier := /[a-f0-9]{6,64}/
 */
import { DIGEST_PATTERN } from "../digest/index.ts";

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const group = (...parts: string[]) => `(?:${parts.join("")})`;
const optional = (...parts: string[]) => `${group(...parts)}?`;
const anyTimes = (...parts: string[]) => `${group(...parts)}*`;
const capture = (...parts: string[]) => `(${parts.join("")})`;
const anchored = (...parts: string[]) => new RegExp(`^${parts.join("")}$`);

export const ALPHA_NUMERIC = "[a-z0-9]+";
export const SEPARATOR = "(?:[_.]|__|[-]+)";
export const PATH_COMPONENT = ALPHA_NUMERIC + anyTimes(SEPARATOR, ALPHA_NUMERIC);
export const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
export const DOMAIN_NAME = DOMAIN_COMPONENT + anyTimes(literal("."), DOMAIN_COMPONENT);
export const IPV6_ADDRESS = "\\[(?:[a-fA-F0-9:]+)\\]";
export const HOST = group(DOMAIN_NAME, "|", IPV6_ADDRESS);
export const PORT_NUMBER = "[0-9]+";
export const DOMAIN = HOST + optional(literal(":"), PORT_NUMBER);
export const REMOTE_NAME = PATH_COMPONENT + anyTimes(literal("/"), PATH_COMPONENT);
export const NAME = optional(DOMAIN, literal("/")) + REMOTE_NAME;
export const TAG = "[\\w][\\w.-]{0,127}";
export const DIGEST = DIGEST_PATTERN;
export const IDENTIFIER = "[a-f0-9]{64}";
export const SHORT_IDENTIFIER = "[a-f0-9]{6,64}";

/** name, tag, digest */
export const ANCHORED_REFERENCE = anchored(
  capture(NAME),
  optional(literal(":"), capture(TAG)),
  optional(literal("@"), capture(DIGEST)),
);
/** domain, remote name */
export const ANCHORED_NAME = anchored(optional(capture(DOMAIN), literal("/")), capture(REMOTE_NAME));
export const ANCHORED_TAG = anchored(TAG);
export const ANCHORED_DOMAIN = anchored(DOMAIN);
export const ANCHORED_REMOTE_NAME = anchored(REMOTE_NAME);
export const ANCHORED_IDENTIFIER = anchored(IDENTIFIER);
export const ANCHORED_SHORT_IDENTIFIER = anchored(SHORT_IDENTIFIER);
