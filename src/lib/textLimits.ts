/**
 * The fixed limits of the text rules (src/lib/scanText.ts). They are not settings:
 * they say what text looks like, not how much of it a server takes.
 */
export const textLimits = {
  /** Most zero-width characters in a row (invisible ones, direction marks, joiners, variation selectors). */
  invisibleRun: 4,
  /** Most combining marks in a row: the 30 of Unicode's Stream-Safe Text Format (UAX #15). */
  combiningRun: 30,
  /** Most tag letters or digits in an emoji tag sequence: a CLDR region and subdivision code has at most 7. */
  tagLetters: 7,
} as const;
