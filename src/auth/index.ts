export {
  type Authorizer,
  allowAll,
  installAuthorization,
  type PermissionAction,
  type RoutePermission,
} from './permissions.js';
