/** Vite's `?raw` imports: a fixture file's text as sent (e.g. a multipart body), for the tests. */
declare module '*?raw' {
  const text: string
  export default text
}
