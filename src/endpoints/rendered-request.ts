/** The request a postback sends: fixed at enqueue, identical on every attempt. */
export interface RenderedRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}
