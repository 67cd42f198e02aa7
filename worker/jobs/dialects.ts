/** The vendor APIs Kiln also speaks; a job created through one is otherwise an ordinary job. */
export const dialects = ["ittybit", "transcodely", "vtk", "clipzy"] as const;
export type Dialect = (typeof dialects)[number];
