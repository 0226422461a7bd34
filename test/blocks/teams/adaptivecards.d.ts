/**
 * `adaptivecards` must be imported from its dist bundle under ESM (the package's main entry
 * fails with ERR_MODULE_NOT_FOUND); the bundle's own typings are ambient, so type it as the
 * package's main entry, which it is.
 */
declare module 'adaptivecards/dist/adaptivecards.js' {
  export * from 'adaptivecards';
}
