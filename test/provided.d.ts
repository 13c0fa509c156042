/** What global-setup.ts provides to the tests (and to vitest.config.ts's inject). */
export {}
declare module 'vitest' {
  export interface ProvidedContext {
    standinUrl: string
  }
}
