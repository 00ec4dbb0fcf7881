#include <cblas.h>

/* LAPACK's symmetric eigensolver, which libopenblas exports (Debian ships no lapack.h with it).
 * Fortran calling convention: every argument by pointer, hidden string lengths at the end. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t jobz_length, size_t uplo_length);
