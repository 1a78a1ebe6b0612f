/** Bounds on one event, so hostile input costs a bounded amount of memory and CPU. */
export const EVENT_LIMITS = {
  idPattern: /^[A-Za-z0-9._~-]{1,128}$/,
  typePattern: /^[a-z0-9_.-]{1,64}$/,
  statePattern: /^[A-Za-z0-9_.-]{1,64}$/,
  refPattern: /^[A-Za-z0-9._~:@-]{1,128}$/,
  fieldNamePattern: /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/,
  maxFields: 100,
  maxStringLength: 4096,
  maxPayloadDepth: 8,
  maxPayloadKeys: 500,
} as const;
