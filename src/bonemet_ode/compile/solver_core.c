/*
 * bonemet_ode solver core: a Rosenbrock integrator (RODAS4P by default, RODAS4;
 * Hairer & Wanner,
 * "Solving Ordinary Differential Equations II", 2nd ed., Springer 1996,
 * section IV.7; coefficients as published there) with the analytic Jacobian,
 * dense output, and dosing events (boluses, zero-order infusions, parameter
 * switches) applied inside the compiled loop.
 *
 * This file is appended to generated model code that defines
 *   BM_N, BM_NP, BM_NO                               (sizes, compile-time)
 *   static void bm_rhs(const double *y, const double *p, double *dy);
 *   static void bm_jac(const double *y, const double *p, double *J);  (row-major, J[i*BM_N+j] = df_i/dy_j)
 *   static void bm_obs(const double *y, const double *p, double *o);
 *
 * Time is in days. The model is autonomous between events: time-dependent
 * inputs enter only as events.
 */
#include <math.h>
#include <string.h>
#ifdef BM_DEBUG
#include <stdio.h>
#endif

#define BM_EV_BOLUS 0   /* y[idx] += val                    */
#define BM_EV_RATE 1    /* infusion rate u[idx] += val       */
#define BM_EV_SETPAR 2  /* p[idx] = val                      */
#define BM_EV_SETSTATE 3 /* y[idx] = val                     */

#define BM_OK 0
#define BM_ERR_MAXSTEPS 1
#define BM_ERR_HMIN 2
#define BM_ERR_NONFINITE 3
#define BM_ERR_BADINPUT 4

#define BM_NSTATS 6 /* steps, accepted, rejected, rhs evals, jacobian evals, LU decompositions */

#define BM_NPTOT (BM_NP > 0 ? BM_NP : 1)
#define BM_NOTOT (BM_NO > 0 ? BM_NO : 1)

/*
 * Coefficients in transformed form (Hairer & Wanner 1996, IV.7): stage values
 * Y_i = y + sum a_ij k_j, (I/(h gamma) - J) k_i = f(Y_i) + sum (C_ij/h) k_j,
 * y_new = Y_5 + k_5 + k_6, error estimate k_6, dense output from H2j, H3j.
 * BM_METHOD 1: RODAS4 (Hairer & Wanner 1996).
 * BM_METHOD 2: RODAS4P (Steinebach 1995, fewer order reductions on
 *              Prothero-Robinson-type stiff problems); the default: on the
 *              performance reference problem it takes 459 steps where RODAS4
 *              takes 545 at rtol 1e-6 (docs/backend.md).
 */
#ifndef BM_METHOD
#define BM_METHOD 2
#endif
#if BM_METHOD == 1
static const double R_GAMMA = 0.25;
static const double R_A21 = 1.544000000000000, R_A31 = 0.9466785280815826, R_A32 = 0.2557011698983284;
static const double R_A41 = 3.314825187068521, R_A42 = 2.896124015972201, R_A43 = 0.9986419139977817;
static const double R_A51 = 1.221224509226641, R_A52 = 6.019134481288629, R_A53 = 12.53708332932087,
                    R_A54 = -0.6878860361058950;
static const double R_C21 = -5.668800000000000, R_C31 = -2.430093356833875, R_C32 = -0.2063599157091915;
static const double R_C41 = -0.1073529058151375, R_C42 = -9.594562251023355, R_C43 = -20.47028614809616;
static const double R_C51 = 7.496443313967647, R_C52 = -10.24680431464352, R_C53 = -33.99990352819905,
                    R_C54 = 11.70890893206160;
static const double R_C61 = 8.083246795921522, R_C62 = -7.981132988064893, R_C63 = -31.52159432874371,
                    R_C64 = 16.31930543123136, R_C65 = -6.058818238834054;
static const double R_H21 = 10.12623508344586, R_H22 = -7.487995877610167, R_H23 = -34.80091861555747,
                    R_H24 = -7.992771707568823, R_H25 = 1.025137723295662;
static const double R_H31 = -0.6762803392801253, R_H32 = 6.087714651680015, R_H33 = 16.43084320892478,
                    R_H34 = 24.76722511418386, R_H35 = -6.594389125716872;
#else
static const double R_GAMMA = 0.25;
static const double R_A21 = 3.0, R_A31 = 1.831036793486759, R_A32 = 0.4955183967433795;
static const double R_A41 = 2.304376582692669, R_A42 = -0.05249275245743001, R_A43 = -1.176798761832782;
static const double R_A51 = -7.170454962423024, R_A52 = -4.741636671481785, R_A53 = -16.31002631330971,
                    R_A54 = -1.062004044111401;
static const double R_C21 = -12.0, R_C31 = -8.791795173947035, R_C32 = -2.207865586973518;
static const double R_C41 = 10.81793056857153, R_C42 = 6.780270611428266, R_C43 = 19.53485944642410;
static const double R_C51 = 34.19095006749676, R_C52 = 15.49671153725963, R_C53 = 54.74760875964130,
                    R_C54 = 14.16005392148534;
static const double R_C61 = 34.62605830930532, R_C62 = 15.30084976114473, R_C63 = 56.99955578662667,
                    R_C64 = 18.40807009793095, R_C65 = -5.714285714285717;
static const double R_H21 = 25.09876703708589, R_H22 = 11.62013104361867, R_H23 = 28.49148307714626,
                    R_H24 = -5.664021568594133, R_H25 = 0.0;
static const double R_H31 = 1.638054557396973, R_H32 = -0.7373619806678748, R_H33 = 8.477918219238990,
                    R_H34 = 15.99253148779520, R_H35 = -1.882352941176471;
#endif

typedef struct {
    double rtol;
    const double *atol;
    double hmax;
    double h_init;
    long max_steps;
    long *stats;
    int infusing; /* set once an infusion-rate event was applied: u may be non-zero */
    double fail_t;
    int fail_state;
} bm_ctx;

static void bm_f(const double *y, const double *p, const double *u, double *dy, bm_ctx *c) {
    bm_rhs(y, p, dy);
    if (c->infusing)
        for (int i = 0; i < BM_N; ++i) dy[i] += u[i];
    c->stats[3]++;
}

/* LU with partial pivoting of the BM_N x BM_N matrix A (in place). Returns 0, or 1 if singular. */
static int bm_lu(double *A, int *piv) {
    for (int k = 0; k < BM_N; ++k) {
        int m = k;
        double amax = fabs(A[k * BM_N + k]);
        for (int i = k + 1; i < BM_N; ++i) {
            double a = fabs(A[i * BM_N + k]);
            if (a > amax) { amax = a; m = i; }
        }
        piv[k] = m;
        if (amax == 0.0 || !isfinite(amax)) return 1;
        if (m != k) {
            for (int j = 0; j < BM_N; ++j) { double t = A[k * BM_N + j]; A[k * BM_N + j] = A[m * BM_N + j]; A[m * BM_N + j] = t; }
        }
        double inv = 1.0 / A[k * BM_N + k];
        for (int i = k + 1; i < BM_N; ++i) {
            double l = A[i * BM_N + k];
            if (l != 0.0) {
                l *= inv;
                A[i * BM_N + k] = l;
                for (int j = k + 1; j < BM_N; ++j) A[i * BM_N + j] -= l * A[k * BM_N + j];
            }
        }
    }
    return 0;
}

static void bm_lusolve(const double *A, const int *piv, double *b) {
    /* rows were swapped whole during factorisation (P A = L U): permute b first, then substitute */
    for (int k = 0; k < BM_N; ++k) {
        int m = piv[k];
        if (m != k) { double t = b[k]; b[k] = b[m]; b[m] = t; }
    }
    for (int k = 0; k < BM_N; ++k) {
        double bk = b[k];
        if (bk != 0.0) for (int i = k + 1; i < BM_N; ++i) b[i] -= A[i * BM_N + k] * bk;
    }
    for (int k = BM_N - 1; k >= 0; --k) {
        double s = b[k];
        for (int j = k + 1; j < BM_N; ++j) s -= A[k * BM_N + j] * b[j];
        b[k] = s / A[k * BM_N + k];
    }
}

static double bm_norm(const double *v, const double *y0, const double *y1, bm_ctx *c) {
    double s = 0.0;
    for (int i = 0; i < BM_N; ++i) {
        double a = fabs(y0[i]), b = y1 ? fabs(y1[i]) : 0.0;
        double sk = c->atol[i] + c->rtol * (a > b ? a : b);
        double q = v[i] / sk;
        s += q * q;
    }
    return sqrt(s / BM_N);
}

/* Initial step size (Hairer & Wanner, vol. I, II.4) for order 4. */
static double bm_initial_step(const double *y, const double *p, const double *u, const double *f0,
                              double span, bm_ctx *c) {
    double y1[BM_N], f1[BM_N];
    double d0 = bm_norm(y, y, NULL, c), d1 = bm_norm(f0, y, NULL, c);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    if (h0 > span) h0 = span;
    for (int i = 0; i < BM_N; ++i) y1[i] = y[i] + h0 * f0[i];
    bm_f(y1, p, u, f1, c);
    for (int i = 0; i < BM_N; ++i) f1[i] = (f1[i] - f0[i]) / h0;
    double d2 = bm_norm(f1, y, NULL, c);
    double dm = d1 > d2 ? d1 : d2;
    double h1 = dm <= 1e-15 ? (h0 * 1e-3 > 1e-6 ? h0 * 1e-3 : 1e-6) : pow(0.01 / dm, 0.2);
    double h = 100.0 * h0 < h1 ? 100.0 * h0 : h1;
    if (h > span) h = span;
    if (h > c->hmax) h = c->hmax;
    return h;
}

/* Worst component of a scaled vector, for error messages. */
static int bm_worst(const double *v, const double *y, bm_ctx *c) {
    int w = 0;
    double best = -1.0;
    for (int i = 0; i < BM_N; ++i) {
        if (!isfinite(v[i]) || !isfinite(y[i])) return i;
        double q = fabs(v[i]) / (c->atol[i] + c->rtol * fabs(y[i]));
        if (q > best) { best = q; w = i; }
    }
    return w;
}

/*
 * Integrate from *t to tstop (> *t). Writes interpolated outputs for output
 * times in (*t, tstop) starting at *iout. On return *t == tstop on success.
 * *h holds the step size to try next.
 */
static int bm_segment(double *t, double tstop, double *y, const double *p, const double *u, double *h,
                      const double *tout, int nout, int *iout, double *yout, double *oout, bm_ctx *c,
                      double *hacc, double *erracc, long *naccept) {
    double f0[BM_N], J[BM_N * BM_N], E[BM_N * BM_N], dinv[BM_N];
    double k1[BM_N], k2[BM_N], k3[BM_N], k4[BM_N], k5[BM_N], k6[BM_N], ys[BM_N], fs[BM_N];
    int piv[BM_N];
    int reject = 0, have_f0 = 0;
    const double safe = 0.9, facmax = 6.0, facmin = 0.2;
    const double hmin_rel = 1e-13;

    while (*t < tstop) {
        if (c->stats[0] >= c->max_steps) {
            /* name the state that changes fastest relative to its tolerance */
            bm_f(y, p, u, f0, c);
            c->fail_t = *t; c->fail_state = bm_worst(f0, y, c); return BM_ERR_MAXSTEPS;
        }
        double hh = *h, h_try;
        int last = 0;
        if (hh > c->hmax) hh = c->hmax;
        h_try = hh;
        if (*t + 1.0001 * hh >= tstop) { hh = tstop - *t; last = 1; }
        if (!have_f0) { bm_f(y, p, u, f0, c); have_f0 = 1; }
        bm_jac(y, p, J);
        c->stats[4]++;
        double fac = 1.0 / (hh * R_GAMMA);
        int dense = 0;
        for (;;) {
            c->stats[5]++;
            bm_build_E(J, fac, E);
            if (!bm_lu_fast(E, dinv, 1e-10 * fac)) { dense = 0; break; }
            /* a small pivot in the static order: dense LU with partial pivoting for this step */
            for (int i = 0; i < BM_N * BM_N; ++i) E[i] = -J[i];
            for (int i = 0; i < BM_N; ++i) E[i * BM_N + i] += fac;
            if (!bm_lu(E, piv)) { dense = 1; break; }
            hh *= 0.5; last = 0; fac = 1.0 / (hh * R_GAMMA);
            if (hh < hmin_rel * (fabs(*t) > 1.0 ? fabs(*t) : 1.0)) {
                c->fail_t = *t; c->fail_state = bm_worst(f0, y, c); return BM_ERR_HMIN;
            }
        }
#define BM_SOLVE(v) do { if (dense) bm_lusolve(E, piv, (v)); else bm_solve_fast(E, dinv, (v)); } while (0)
        c->stats[0]++;
        double ih = 1.0 / hh;
        /* stage 1 */
        memcpy(k1, f0, sizeof k1);
        BM_SOLVE(k1);
        /* stage 2 */
        for (int i = 0; i < BM_N; ++i) ys[i] = y[i] + R_A21 * k1[i];
        bm_f(ys, p, u, fs, c);
        for (int i = 0; i < BM_N; ++i) k2[i] = fs[i] + (R_C21 * ih) * k1[i];
        BM_SOLVE(k2);
        /* stage 3 */
        for (int i = 0; i < BM_N; ++i) ys[i] = y[i] + R_A31 * k1[i] + R_A32 * k2[i];
        bm_f(ys, p, u, fs, c);
        for (int i = 0; i < BM_N; ++i) k3[i] = fs[i] + ih * (R_C31 * k1[i] + R_C32 * k2[i]);
        BM_SOLVE(k3);
        /* stage 4 */
        for (int i = 0; i < BM_N; ++i) ys[i] = y[i] + R_A41 * k1[i] + R_A42 * k2[i] + R_A43 * k3[i];
        bm_f(ys, p, u, fs, c);
        for (int i = 0; i < BM_N; ++i) k4[i] = fs[i] + ih * (R_C41 * k1[i] + R_C42 * k2[i] + R_C43 * k3[i]);
        BM_SOLVE(k4);
        /* stage 5 */
        for (int i = 0; i < BM_N; ++i) ys[i] = y[i] + R_A51 * k1[i] + R_A52 * k2[i] + R_A53 * k3[i] + R_A54 * k4[i];
        bm_f(ys, p, u, fs, c);
        for (int i = 0; i < BM_N; ++i)
            k5[i] = fs[i] + ih * (R_C51 * k1[i] + R_C52 * k2[i] + R_C53 * k3[i] + R_C54 * k4[i]);
        BM_SOLVE(k5);
        /* embedded solution, then the error stage */
        for (int i = 0; i < BM_N; ++i) ys[i] += k5[i];
        bm_f(ys, p, u, fs, c);
        for (int i = 0; i < BM_N; ++i)
            k6[i] = fs[i] + ih * (R_C61 * k1[i] + R_C62 * k2[i] + R_C63 * k3[i] + R_C64 * k4[i] + R_C65 * k5[i]);
        BM_SOLVE(k6);
        for (int i = 0; i < BM_N; ++i) ys[i] += k6[i];

        double err = bm_norm(k6, y, ys, c);
#ifdef BM_DEBUG
        { int w = bm_worst(k6, ys, c); fprintf(stderr, "t=%.6g h=%.3g err=%.3g worst=%d y=%.3g ynew=%.3g k6=%.3g\n", *t, hh, err, w, y[w], ys[w], k6[w]); }
#endif
        int finite = isfinite(err);
        for (int i = 0; finite && i < BM_N; ++i) finite = isfinite(ys[i]);
        if (!finite) {
            *h = hh * 0.25;
            reject = 1;
            if (*h < hmin_rel * (fabs(*t) > 1.0 ? fabs(*t) : 1.0)) {
                c->fail_t = *t; c->fail_state = bm_worst(k6, ys, c); return BM_ERR_NONFINITE;
            }
            c->stats[2]++;
            continue;
        }
        double q = sqrt(sqrt(err)) / safe;
        if (q < 1.0 / facmax) q = 1.0 / facmax;
        if (q > 1.0 / facmin) q = 1.0 / facmin;
        double hnew = hh / q;
        if (err <= 1.0) {
            /* accepted: Gustafsson's predictive controller */
            if (*naccept > 0) {
                double qg = (*hacc / hh) * sqrt(sqrt(err * err / *erracc)) / safe;
                if (qg < 1.0 / facmax) qg = 1.0 / facmax;
                if (qg > 1.0 / facmin) qg = 1.0 / facmin;
                if (qg > q) { q = qg; hnew = hh / q; }
            }
            *hacc = hh;
            *erracc = err > 1e-2 ? err : 1e-2;
            (*naccept)++;
            c->stats[1]++;
            double tnew = last ? tstop : *t + hh;
            /* dense output for output times in (t, tnew), tnew excluded when it is the stop */
            while (*iout < nout && (tout[*iout] < tnew || (!last && tout[*iout] == tnew))) {
                double th = (tout[*iout] - *t) * ih, th1 = 1.0 - th;
                double *yo = yout + (long)(*iout) * BM_N;
                for (int i = 0; i < BM_N; ++i) {
                    double d1 = R_H21 * k1[i] + R_H22 * k2[i] + R_H23 * k3[i] + R_H24 * k4[i] + R_H25 * k5[i];
                    double d2 = R_H31 * k1[i] + R_H32 * k2[i] + R_H33 * k3[i] + R_H34 * k4[i] + R_H35 * k5[i];
                    yo[i] = (1.0 - th) * y[i] + th * (ys[i] + th1 * (d1 + th * d2));
                }
                if (oout) bm_obs(yo, p, oout + (long)(*iout) * BM_NOTOT);
                (*iout)++;
            }
            memcpy(y, ys, sizeof ys);
            *t = tnew;
            have_f0 = 0;
            if (reject && hnew > hh) hnew = hh;
            reject = 0;
            /* a step cut short to land on a stop does not shrink the next one */
            if (last && hh < h_try && hnew < h_try) hnew = h_try;
            *h = hnew;
        } else {
            reject = 1;
            c->stats[2]++;
            if (*naccept == 0) hnew = hh * 0.1;
            *h = hnew;
            if (*h < hmin_rel * (fabs(*t) > 1.0 ? fabs(*t) : 1.0)) {
                c->fail_t = *t; c->fail_state = bm_worst(k6, ys, c); return BM_ERR_HMIN;
            }
        }
    }
    return BM_OK;
}

static void bm_apply_event(int kind, int idx, double val, double *y, double *p, double *u, bm_ctx *c) {
    switch (kind) {
        case BM_EV_BOLUS: y[idx] += val; break;
        case BM_EV_RATE: u[idx] += val; c->infusing = 1; break;
        case BM_EV_SETPAR: p[idx] = val; break;
        case BM_EV_SETSTATE: y[idx] = val; break;
        default: break;
    }
}

/*
 * Solve one initial-value problem from t0 with events; outputs at tout
 * (ascending, >= t0). At an output time that is also an event time the
 * post-event state is reported. Returns a BM_* code.
 */
static int bm_solve_one(const double *y0, const double *p0, double t0, const double *tout, int nout,
                        const double *ev_t, const int *ev_kind, const int *ev_idx, const double *ev_val, int nev,
                        bm_ctx *c, double *yout, double *oout) {
    double y[BM_N], p[BM_NPTOT], u[BM_N], f0[BM_N];
    memcpy(y, y0, sizeof y);
    if (BM_NP > 0) memcpy(p, p0, sizeof(double) * BM_NP);
    memset(u, 0, sizeof u);
    for (int k = 0; k < BM_NSTATS; ++k) c->stats[k] = 0;
    c->fail_t = t0; c->fail_state = -1;
    c->infusing = 0;
    double t = t0, h = c->h_init, hacc = 0.0, erracc = 1.0;
    long naccept = 0;
    int iev = 0, iout = 0;
    double tend = nout > 0 ? tout[nout - 1] : t0;
    for (;;) {
        while (iev < nev && ev_t[iev] <= t) { bm_apply_event(ev_kind[iev], ev_idx[iev], ev_val[iev], y, p, u, c); iev++; }
        while (iout < nout && tout[iout] <= t) {
            memcpy(yout + (long)iout * BM_N, y, sizeof y);
            if (oout) bm_obs(y, p, oout + (long)iout * BM_NOTOT);
            iout++;
        }
        if (iout >= nout) break;
        double tstop = (iev < nev && ev_t[iev] < tend) ? ev_t[iev] : tend;
        if (h <= 0.0) {
            bm_f(y, p, u, f0, c);
            h = bm_initial_step(y, p, u, f0, tstop - t, c);
        }
        int rc = bm_segment(&t, tstop, y, p, u, &h, tout, nout, &iout, yout, oout, c, &hacc, &erracc, &naccept);
        if (rc != BM_OK) return rc;
    }
    return BM_OK;
}

/* ------------------------------------------------------------------ exported entry points */

int bm_sizes(int *out) { out[0] = BM_N; out[1] = BM_NP; out[2] = BM_NO; return 0; }

void bm_rhs_ext(const double *y, const double *p, double *dy) { bm_rhs(y, p, dy); }
void bm_jac_ext(const double *y, const double *p, double *J) { bm_jac(y, p, J); }
void bm_obs_ext(const double *y, const double *p, double *o) { if (BM_NO > 0) bm_obs(y, p, o); }

/* Evaluate the RHS at many (y, p) pairs: Y is m x N, P is m x NP. */
void bm_rhs_many(int m, const double *Y, const double *P, double *DY) {
    for (int k = 0; k < m; ++k) bm_rhs(Y + (long)k * BM_N, P + (long)k * BM_NPTOT, DY + (long)k * BM_N);
}

/*
 * Solve nsets problems sharing the event schedule and output times; member k
 * uses Y0[k*N..], P[k*NP..]. status[k] is its BM_* code; fail_t/fail_state
 * say where it failed. stats is nsets x BM_NSTATS. opts = {rtol, hmax, h_init, max_steps}.
 */
int bm_solve_batch(int nsets, const double *Y0, const double *P, double t0, const double *tout, int nout,
                   const double *ev_t, const int *ev_kind, const int *ev_idx, const double *ev_val, int nev,
                   const double *opts, const double *atol, double *yout, double *oout, long *stats,
                   int *status, double *fail_t, int *fail_state) {
    int nfail = 0;
    for (int k = 0; k < nsets; ++k) {
        bm_ctx c;
        c.rtol = opts[0]; c.hmax = opts[1]; c.h_init = opts[2]; c.max_steps = (long)opts[3];
        c.atol = atol;
        c.stats = stats + (long)k * BM_NSTATS;
        int rc = bm_solve_one(Y0 + (long)k * BM_N, P + (long)k * BM_NPTOT, t0, tout, nout, ev_t, ev_kind, ev_idx,
                              ev_val, nev, &c, yout + (long)k * nout * BM_N,
                              oout ? oout + (long)k * nout * BM_NOTOT : 0);
        status[k] = rc;
        fail_t[k] = c.fail_t;
        fail_state[k] = c.fail_state;
        if (rc != BM_OK) nfail++;
    }
    return nfail;
}
