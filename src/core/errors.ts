/**
 * One error type for the whole code base. Each error carries a stable `code` (MLflow's error codes where one
 * exists) and the HTTP status it maps to; each protocol's error handler turns it into that protocol's body.
 */
export type ErrorCode =
  | 'INVALID_PARAMETER_VALUE'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'INVALID_STATE'
  | 'BAD_REQUEST'
  | 'ENDPOINT_NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'REQUEST_LIMIT_EXCEEDED'
  | 'DEADLINE_EXCEEDED'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'INTERNAL_ERROR';

const statusByCode: Record<ErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_STATE: 400,
  BAD_REQUEST: 400,
  ENDPOINT_NOT_FOUND: 404,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  REQUEST_LIMIT_EXCEEDED: 429,
  DEADLINE_EXCEEDED: 504,
  TEMPORARILY_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.status = options?.status ?? statusByCode[code];
  }
}

export const invalidParameter = (message: string): SlipwayError =>
  new SlipwayError('INVALID_PARAMETER_VALUE', message);

export const notFound = (message: string): SlipwayError =>
  new SlipwayError('RESOURCE_DOES_NOT_EXIST', message);

export const alreadyExists = (message: string): SlipwayError =>
  new SlipwayError('RESOURCE_ALREADY_EXISTS', message);

export const invalidState = (message: string): SlipwayError => new SlipwayError('INVALID_STATE', message);

export const isSlipwayError = (error: unknown): error is SlipwayError => error instanceof SlipwayError;
