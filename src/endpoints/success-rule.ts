/** What counts as success, compiled once per endpoint from `success`. */
export interface SuccessSpec {
  readonly status?: readonly (number | string)[] | undefined;
  readonly body_contains?: string | undefined;
}

export interface SuccessRule {
  /** Whether `status` is a success status (before the body check). */
  statusOk(status: number): boolean;
  readonly bodyContains: string | undefined;
}

export function compileSuccessRule(spec: SuccessSpec | undefined): SuccessRule {
  const codes = new Set<number>();
  const classes = new Set<number>();
  for (const s of spec?.status ?? ['2xx']) {
    if (typeof s === 'number') codes.add(s);
    else if (/^[1-5]xx$/.test(s)) classes.add(Number(s[0]));
    else codes.add(Number(s));
  }
  return {
    statusOk: (status) => codes.has(status) || classes.has(Math.floor(status / 100)),
    bodyContains: spec?.body_contains,
  };
}
