/**
 * The one table of characters that text rules treat specially: every character
 * that is not plain visible text (controls, bidi controls, separators, the
 * default-ignorable ones), with its Unicode name and its kind. The server's check
 * (src/domain/text.ts) and chat-tui's display (src/tui/sanitize.ts) both read it.
 * Names are the Unicode names (Name_Alias for controls, which have no name);
 * surrogates have none. Every assigned \p{Default_Ignorable_Code_Point} is in it.
 */
import { textLimits } from './textLimits.js';

/** What a special character is; what each field does with it is in `characterKinds`. */
export type CharacterKind =
  | 'control'
  | 'bidi'
  | 'separator'
  | 'format'
  | 'invalid'
  | 'surrogate'
  | 'mark'
  | 'invisible'
  | 'blank'
  | 'joiner'
  | 'selector'
  | 'tag';

/** One row: code points `from`–`to`, all of one kind; `names[i]` names `from + i`. */
export interface CharacterRow {
  readonly from: number;
  readonly to: number;
  readonly kind: CharacterKind;
  readonly names: readonly string[];
}

/** What a kind is, and whether content and display names refuse it wherever it is. */
export interface KindRule {
  /** Why a field that refuses it does (the end of the refusal message). */
  readonly why: string;
  readonly refusedInContent: boolean;
  readonly refusedInName: boolean;
}

export const characterKinds: Readonly<Record<CharacterKind, KindRule>> = {
  // Content keeps newline and tab (src/lib/scanText.ts makes that one exception).
  control: { why: 'a control character, which a terminal could act on', refusedInContent: true, refusedInName: true },
  bidi: { why: 'a bidi control, which can reorder the text around it', refusedInContent: true, refusedInName: true },
  separator: { why: 'a separator terminals do not show as a line break (use a newline)', refusedInContent: true, refusedInName: true },
  format: { why: 'a deprecated or unassigned format character', refusedInContent: true, refusedInName: true },
  invalid: { why: 'what bytes that are not valid UTF-8 become', refusedInContent: true, refusedInName: true },
  surrogate: { why: 'half of a UTF-16 surrogate pair, not a character', refusedInContent: true, refusedInName: true },
  // A mark is an invisible letter of one direction: right-to-left text needs them
  // where it holds numbers or Latin; a name, printed inside the client's own lines,
  // would move the punctuation around it and needs none.
  mark: { why: 'a direction mark, which a name does not need', refusedInContent: false, refusedInName: true },
  // Invisible ones (Hangul fillers too) are fine one at a time in content (a soft
  // hyphen, a zero-width space between Thai words), never in a name.
  invisible: { why: 'it draws nothing, which a name may not hold', refusedInContent: false, refusedInName: true },
  // A blank cell that is not whitespace: braille text needs it; only-blank text is refused.
  blank: { why: 'a blank that is not whitespace', refusedInContent: false, refusedInName: false },
  joiner: { why: 'a joiner with no character before it to join', refusedInContent: false, refusedInName: false },
  selector: { why: 'a variation selector with no character before it to select', refusedInContent: false, refusedInName: false },
  tag: {
    why: `tag characters belong only in an emoji tag sequence (an emoji, 1–${textLimits.tagLetters} tag digits or small letters, CANCEL TAG), as in subdivision flags`,
    refusedInContent: false,
    refusedInName: false,
  },
};

const C0 =
  'NULL|START OF HEADING|START OF TEXT|END OF TEXT|END OF TRANSMISSION|ENQUIRY|ACKNOWLEDGE|ALERT|BACKSPACE|CHARACTER TABULATION|LINE FEED|LINE TABULATION|FORM FEED|CARRIAGE RETURN|SHIFT OUT|SHIFT IN|DATA LINK ESCAPE|DEVICE CONTROL ONE|DEVICE CONTROL TWO|DEVICE CONTROL THREE|DEVICE CONTROL FOUR|NEGATIVE ACKNOWLEDGE|SYNCHRONOUS IDLE|END OF TRANSMISSION BLOCK|CANCEL|END OF MEDIUM|SUBSTITUTE|ESCAPE|INFORMATION SEPARATOR FOUR|INFORMATION SEPARATOR THREE|INFORMATION SEPARATOR TWO|INFORMATION SEPARATOR ONE';
const C1 =
  'PADDING CHARACTER|HIGH OCTET PRESET|BREAK PERMITTED HERE|NO BREAK HERE|INDEX|NEXT LINE|START OF SELECTED AREA|END OF SELECTED AREA|CHARACTER TABULATION SET|CHARACTER TABULATION WITH JUSTIFICATION|LINE TABULATION SET|PARTIAL LINE FORWARD|PARTIAL LINE BACKWARD|REVERSE LINE FEED|SINGLE SHIFT TWO|SINGLE SHIFT THREE|DEVICE CONTROL STRING|PRIVATE USE ONE|PRIVATE USE TWO|SET TRANSMIT STATE|CANCEL CHARACTER|MESSAGE WAITING|START OF GUARDED AREA|END OF GUARDED AREA|START OF STRING|SINGLE GRAPHIC CHARACTER INTRODUCER|SINGLE CHARACTER INTRODUCER|CONTROL SEQUENCE INTRODUCER|STRING TERMINATOR|OPERATING SYSTEM COMMAND|PRIVACY MESSAGE|APPLICATION PROGRAM COMMAND';
const PUNCTUATION =
  'SPACE|EXCLAMATION MARK|QUOTATION MARK|NUMBER SIGN|DOLLAR SIGN|PERCENT SIGN|AMPERSAND|APOSTROPHE|LEFT PARENTHESIS|RIGHT PARENTHESIS|ASTERISK|PLUS SIGN|COMMA|HYPHEN-MINUS|FULL STOP|SOLIDUS|COLON|SEMICOLON|LESS-THAN SIGN|EQUALS SIGN|GREATER-THAN SIGN|QUESTION MARK|COMMERCIAL AT|LEFT SQUARE BRACKET|REVERSE SOLIDUS|RIGHT SQUARE BRACKET|CIRCUMFLEX ACCENT|LOW LINE|GRAVE ACCENT|LEFT CURLY BRACKET|VERTICAL LINE|RIGHT CURLY BRACKET|TILDE';
const DIGITS = 'ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE'.split('|');

/** The names of printable ASCII, U+0020–U+007E (the tag characters mirror them). */
function asciiNames(): string[] {
  const punctuation = PUNCTUATION.split('|');
  return Array.from({ length: 0x5f }, (_, i) => {
    const c = String.fromCharCode(0x20 + i);
    if (c >= '0' && c <= '9') return `DIGIT ${DIGITS[Number(c)]}`;
    if (c >= 'A' && c <= 'Z') return `LATIN CAPITAL LETTER ${c}`;
    if (c >= 'a' && c <= 'z') return `LATIN SMALL LETTER ${c.toUpperCase()}`;
    return punctuation.shift()!;
  });
}

const numbered = (prefix: string, first: number, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${first + i}`);
const row = (from: number, kind: CharacterKind, names: string | string[]): CharacterRow => {
  const list = typeof names === 'string' ? names.split('|') : names;
  return { from, to: from + list.length - 1, kind, names: list };
};

/** Sorted by code point, no overlaps. */
export const specialCharacters: readonly CharacterRow[] = [
  row(0x0000, 'control', C0),
  row(0x007f, 'control', 'DELETE'),
  row(0x0080, 'control', C1),
  row(0x00ad, 'invisible', 'SOFT HYPHEN'),
  row(0x034f, 'invisible', 'COMBINING GRAPHEME JOINER'),
  row(0x061c, 'mark', 'ARABIC LETTER MARK'),
  row(0x115f, 'invisible', 'HANGUL CHOSEONG FILLER|HANGUL JUNGSEONG FILLER'),
  row(0x17b4, 'invisible', 'KHMER VOWEL INHERENT AQ|KHMER VOWEL INHERENT AA'),
  row(0x180b, 'selector', 'MONGOLIAN FREE VARIATION SELECTOR ONE|MONGOLIAN FREE VARIATION SELECTOR TWO|MONGOLIAN FREE VARIATION SELECTOR THREE'),
  row(0x180e, 'invisible', 'MONGOLIAN VOWEL SEPARATOR'),
  row(0x180f, 'selector', 'MONGOLIAN FREE VARIATION SELECTOR FOUR'),
  row(0x200b, 'invisible', 'ZERO WIDTH SPACE'),
  row(0x200c, 'joiner', 'ZERO WIDTH NON-JOINER|ZERO WIDTH JOINER'),
  row(0x200e, 'mark', 'LEFT-TO-RIGHT MARK|RIGHT-TO-LEFT MARK'),
  row(0x2028, 'separator', 'LINE SEPARATOR|PARAGRAPH SEPARATOR'),
  row(0x202a, 'bidi', 'LEFT-TO-RIGHT EMBEDDING|RIGHT-TO-LEFT EMBEDDING|POP DIRECTIONAL FORMATTING|LEFT-TO-RIGHT OVERRIDE|RIGHT-TO-LEFT OVERRIDE'),
  row(0x2060, 'invisible', 'WORD JOINER|FUNCTION APPLICATION|INVISIBLE TIMES|INVISIBLE SEPARATOR|INVISIBLE PLUS'),
  row(0x2066, 'bidi', 'LEFT-TO-RIGHT ISOLATE|RIGHT-TO-LEFT ISOLATE|FIRST STRONG ISOLATE|POP DIRECTIONAL ISOLATE'),
  row(0x206a, 'format', 'INHIBIT SYMMETRIC SWAPPING|ACTIVATE SYMMETRIC SWAPPING|INHIBIT ARABIC FORM SHAPING|ACTIVATE ARABIC FORM SHAPING|NATIONAL DIGIT SHAPES|NOMINAL DIGIT SHAPES'),
  row(0x2800, 'blank', 'BRAILLE PATTERN BLANK'),
  row(0x3164, 'invisible', 'HANGUL FILLER'),
  { from: 0xd800, to: 0xdfff, kind: 'surrogate', names: [] },
  row(0xfe00, 'selector', numbered('VARIATION SELECTOR-', 1, 16)),
  row(0xfeff, 'invisible', 'ZERO WIDTH NO-BREAK SPACE'),
  row(0xffa0, 'invisible', 'HALFWIDTH HANGUL FILLER'),
  row(0xfff9, 'format', 'INTERLINEAR ANNOTATION ANCHOR|INTERLINEAR ANNOTATION SEPARATOR|INTERLINEAR ANNOTATION TERMINATOR'),
  row(0xfffd, 'invalid', 'REPLACEMENT CHARACTER'),
  row(0x1bca0, 'invisible', 'SHORTHAND FORMAT LETTER OVERLAP|SHORTHAND FORMAT CONTINUING OVERLAP|SHORTHAND FORMAT DOWN STEP|SHORTHAND FORMAT UP STEP'),
  row(0x1d173, 'invisible', ['BEGIN BEAM', 'END BEAM', 'BEGIN TIE', 'END TIE', 'BEGIN SLUR', 'END SLUR', 'BEGIN PHRASE', 'END PHRASE'].map((n) => `MUSICAL SYMBOL ${n}`)),
  row(0xe0001, 'format', 'LANGUAGE TAG'),
  row(0xe0020, 'tag', [...asciiNames().map((n) => `TAG ${n}`), 'CANCEL TAG']),
  row(0xe0100, 'selector', numbered('VARIATION SELECTOR-', 17, 240)),
];
