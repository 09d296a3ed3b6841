/** Local time of `at` (epoch ms) as HH:MM, or HH:MM:SS with `seconds`. */
export function clock(at: number, seconds = false): string {
  const d = new Date(at);
  const parts = seconds ? [d.getHours(), d.getMinutes(), d.getSeconds()] : [d.getHours(), d.getMinutes()];
  return parts.map((n) => String(n).padStart(2, '0')).join(':');
}
