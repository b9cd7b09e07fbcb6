import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SlipwayError } from '../core/errors.js';

export type PermissionAction = 'read' | 'write' | 'admin';

/** What a route needs: an action on a kind of resource. Every route declares one (or is explicitly public). */
export interface RoutePermission {
  action: PermissionAction;
  resource:
    | 'experiment'
    | 'run'
    | 'artifact'
    | 'model'
    | 'endpoint'
    | 'monitor'
    | 'feature'
    | 'pipeline'
    | 'system';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
    /** Health checks and docs: reachable without credentials. */
    public?: boolean;
  }
}

/** Decides whether a request may do what its route needs; throws PERMISSION_DENIED / UNAUTHENTICATED. */
export interface Authorizer {
  authorize(request: FastifyRequest, permission: RoutePermission): Promise<void>;
}

/** Until tokens and roles exist every request may do everything; routes already say what they need. */
export const allowAll: Authorizer = { authorize: async () => undefined };

/**
 * Installs the one authorization hook. A route registered without a permission (and not marked public) is a
 * programming error caught at start-up, so no route can slip past authorization.
 */
export function installAuthorization(app: FastifyInstance, authorizer: Authorizer): void {
  app.addHook('onRoute', (route) => {
    const config = route.config as { permission?: RoutePermission; public?: boolean } | undefined;
    if (config?.permission === undefined && config?.public !== true && !route.url.startsWith('/docs')) {
      throw new SlipwayError('INTERNAL_ERROR', `Route ${route.method} ${route.url} declares no permission`);
    }
  });
  // Allow-all needs no per-request work; a real authorizer runs before every handler.
  if (authorizer === allowAll) return;
  app.addHook('preHandler', async (request) => {
    const permission = request.routeOptions.config.permission;
    if (permission !== undefined) await authorizer.authorize(request, permission);
  });
}
