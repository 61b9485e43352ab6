/** The modes a grant gives over a scope of a pod (the permission model: worker/access/access-policy.ts). */
export const MODES = ['read', 'append', 'write', 'delete', 'control'] as const;
export type Mode = (typeof MODES)[number];
