/** A mistake on the command line: reported in one line with exit status 2. */
export class UsageError extends Error {}
