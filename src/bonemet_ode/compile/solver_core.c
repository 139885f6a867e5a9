/*
 * bonemet_ode solver core: a Rosenbrock integrator (RODAS5P by default, Steinebach
 * 2023; RODAS4P and RODAS4 selectable; Hairer & Wanner, "Solving Ordinary
 * Differential Equations II", 2nd ed., Springer 1996, section IV.7;
 * coefficients as published) with the analytic Jacobian,
 * dense output, and dosing events (boluses, zero-order infusions, parameter
 * switches) applied inside the compiled loop.
 *
 * This file is appended to generated model code that defines
 *   BM_N, BM_NP, BM_NQ, BM_NO                        (sizes, compile-time)
 *   static void bm_derive(double *p);  (derived parameters p[BM_NP + k], hoist.py: the generated
 *                                       functions read them, so every p they see is extended)
 *   static void bm_rhs(const double *y, const double *p, double *dy);
 *   static void bm_jac(const double *y, const double *p, double *J);  (packed: J[k] = df_i/dy_j for the
 *                                       k-th structural nonzero, i = bm_jrow[k], j = bm_jcol[k], k < BM_NNZJ)
 *   static void bm_obs(const double *y, const double *p, double *o);
 *   static void bm_build_E, bm_lu_fast, bm_solve_fast   (sparse LU of I/(h gamma) - J, sparse_lu.py;
 *                                       the factors packed in BM_NLU entries)
 * (a forward-sensitivity system with BM_SENS_N defined: the LU of its states' block only, BM_NLU_X
 *  entries, and the coupling entries bm_sc_row, bm_sc_col, bm_sc_k, BM_NSC of them; see bm_lu_sens)
 * and, when BM_HAVE_INV is defined, bm_inv_fast, bm_matvec and bm_matvec_vec (explicit inverse:
 * stage solves become matrix-vector products).  It also defines BM_NV, the 4-wide vector type
 * bm_v4 and bm_rhs_vec: the one-member solver holds every state-sized array as BM_NV vectors
 * (padding zero), so that the stages' linear combinations and products run on vectors while
 * each element goes through the same operations, in the same order, as in the lane solver.
 *
 * Time is in days. The model is autonomous between events: time-dependent
 * inputs enter only as events.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef BM_DEBUG
#include <stdio.h>
#endif

#define BM_EV_BOLUS 0   /* y[idx] += val                    */
#define BM_EV_RATE 1    /* infusion rate u[idx] += val       */
#define BM_EV_SETPAR 2  /* p[idx] = val                      */
#define BM_EV_SETSTATE 3 /* y[idx] = val                     */
#define BM_EV_GATED 1024 /* + j: y[idx] += val while p[j] > 0.5 (dosing.py EV_GATED) */

#define BM_OK 0
#define BM_ERR_MAXSTEPS 1
#define BM_ERR_HMIN 2
#define BM_ERR_NONFINITE 3
#define BM_ERR_BADINPUT 4
#define BM_ERR_EVENTS 5   /* more than BM_EV_MAXCHAIN event executions at one instant */
#define BM_STOP_EVENT (-1) /* internal: bm_segment stopped at a located state event */
#ifndef BM_NE
#define BM_NE 0 /* state-triggered events (events.py); with none, no event code is compiled */
#endif
#define BM_ERR_PIVOT 6  /* no safe pivot in the static order at any step size, no dense fallback */
#define BM_ERR_NOMEM 7  /* the work arrays could not be allocated */
#define BM_ERR_EVSENS 8 /* an event's sensitivity jump is undefined (tangential trigger) or not supported */

#define BM_NSTATS 7 /* steps, accepted, rejected, rhs evals, jacobian evals, LU decompositions, events executed */
/* (1e-2)^BM_ERR_EXP, the floor of the stored error power of Gustafsson's controller */
#define ERRACC_FLOOR pow(1e-2, BM_ERR_EXP)

#define BM_NPTOT (BM_NP > 0 ? BM_NP : 1)
/* a parameter array extended by the derived parameters (bm_derive) */
#define BM_NPX (BM_NP + BM_NQ > 0 ? BM_NP + BM_NQ : 1)
#define BM_NOTOT (BM_NO > 0 ? BM_NO : 1)

/*
 * Coefficients in transformed form (Hairer & Wanner 1996, IV.7) of stiffly
 * accurate Rosenbrock methods: stage inputs Y_s = y + sum_j RA[s][j] k_j,
 * (I/(h gamma) - J) k_s = f(Y_s) + sum_j (RC[s][j]/h) k_j, new solution
 * y + sum_j RA[S][j] k_j, error estimate k_{S-1} (the last stage), dense
 * output y(th) = (1-th) y0 + th (y1 + (1-th) (D1 + th (D2 + th D3))) with
 * D_r = sum_j RH[r][j] k_j.  The "1" entries encode Y_s = Y_{s-1} + k_{s-1}.
 * BM_METHOD 1: RODAS4 (Hairer & Wanner 1996).
 * BM_METHOD 2: RODAS4P (Steinebach 1995): fewer order reductions on
 *              Prothero-Robinson-type stiff problems.
 * BM_METHOD 3: RODAS5P (Steinebach 2023): order 5(4), 8 stages, dense
 *              output of order 4; the default (docs/backend.md).
 */
#ifndef BM_METHOD
#define BM_METHOD 3
#endif
#if BM_METHOD == 1 || BM_METHOD == 2
#define BM_S 6
#define BM_ND 2
#define BM_ERR_EXP 0.25 /* 1/(embedded order + 1) */
#define BM_ERR_DEN 8    /* 2/BM_ERR_EXP: err^BM_ERR_EXP = err2^(1/BM_ERR_DEN) */
static const double R_GAMMA = 0.25;
#if BM_METHOD == 1
#define A21 1.544000000000000
#define A31 0.9466785280815826
#define A32 0.2557011698983284
#define A41 3.314825187068521
#define A42 2.896124015972201
#define A43 0.9986419139977817
#define A51 1.221224509226641
#define A52 6.019134481288629
#define A53 12.53708332932087
#define A54 (-0.6878860361058950)
static const double RC[BM_S][BM_S] = {
    {0}, {-5.668800000000000}, {-2.430093356833875, -0.2063599157091915},
    {-0.1073529058151375, -9.594562251023355, -20.47028614809616},
    {7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160},
    {8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054}};
static const double RH[BM_ND][BM_S] = {
    {10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662, 0},
    {-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872, 0}};
#else
#define A21 3.0
#define A31 1.831036793486759
#define A32 0.4955183967433795
#define A41 2.304376582692669
#define A42 (-0.05249275245743001)
#define A43 (-1.176798761832782)
#define A51 (-7.170454962423024)
#define A52 (-4.741636671481785)
#define A53 (-16.31002631330971)
#define A54 (-1.062004044111401)
static const double RC[BM_S][BM_S] = {
    {0}, {-12.0}, {-8.791795173947035, -2.207865586973518},
    {10.81793056857153, 6.780270611428266, 19.53485944642410},
    {34.19095006749676, 15.49671153725963, 54.74760875964130, 14.16005392148534},
    {34.62605830930532, 15.30084976114473, 56.99955578662667, 18.40807009793095, -5.714285714285717}};
static const double RH[BM_ND][BM_S] = {
    {25.09876703708589, 11.62013104361867, 28.49148307714626, -5.664021568594133, 0.0, 0},
    {1.638054557396973, -0.7373619806678748, 8.477918219238990, 15.99253148779520, -1.882352941176471, 0}};
#endif
static const double RA[BM_S + 1][BM_S] = {
    {0}, {A21}, {A31, A32}, {A41, A42, A43}, {A51, A52, A53, A54},
    {A51, A52, A53, A54, 1.0}, {A51, A52, A53, A54, 1.0, 1.0}};
#else
#define BM_S 8
#define BM_ND 3
#define BM_ERR_EXP 0.2
#define BM_ERR_DEN 10
static const double R_GAMMA = 0.21193756319429014;
#define A61 (-7.502846399306121)
#define A62 2.561846144803919
#define A63 (-11.627539656261098)
#define A64 (-0.18268767659942256)
#define A65 0.030198172008377946
static const double RA[BM_S + 1][BM_S] = {
    {0}, {3.0}, {2.849394379747939, 0.45842242204463923},
    {-6.954028509809101, 2.489845061869568, -10.358996098473584},
    {2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641},
    {A61, A62, A63, A64, A65},
    {A61, A62, A63, A64, A65, 1.0},
    {A61, A62, A63, A64, A65, 1.0, 1.0},
    {A61, A62, A63, A64, A65, 1.0, 1.0, 1.0}};
static const double RC[BM_S][BM_S] = {
    {0}, {-14.155112264123755}, {-17.97296035885952, -2.859693295451294},
    {147.12150275711716, -1.41221402718213, 71.68940251302358},
    {165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306},
    {24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125, -0.6610691825249471},
    {30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783, -19.097331116725623,
     -28.087943162872662},
    {37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047, -40.06618937091002,
     -54.66780262877968, -9.48861652309627}};
static const double RH[BM_ND][BM_S] = {
    {25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204, 0.524948541321073,
     1.1241088310450404, 0.4272876194431874, -0.17202221070155493},
    {-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796, 20.176138334709044,
     15.98066361424651, -6.789040303419874, -6.710236069923372},
    {11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643, -52.072871366152654,
     -59.78993625266729, -0.15582684282751913, 4.883087185713722}};
#endif

/* Whether stage s's input continues stage s-1's: RA[s] is RA[s-1] followed by a 1, so that
 * Y_s = Y_{s-1} + k_{s-1}, the very sum the full combination would compute (same terms, same order),
 * in one addition (RODAS5P's stages 6 and 7 and its solution, RODAS4's stage 5 and solution). With the
 * stage loops unrolled, the compiler folds the test. */
static inline int bm_ra_continues(int s) {
    if (RA[s][s - 1] != 1.0) return 0;
    for (int j = 0; j < s - 1; ++j)
        if (RA[s][j] != RA[s - 1][j]) return 0;
    for (int j = s; j < BM_S; ++j)
        if (RA[s][j] != 0.0) return 0;
    return 1;
}

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
    double curv_pre; /* ||J f||^2 (scaled) at the start of the step that ended at the last event; -1: none */
#if BM_NE > 0
    double eg[BM_NG]; /* the triggers' root functions at the current (t, y) */
    int eb[BM_NE];    /* the triggers' values at the current (t, y) (before a located event: just before it) */
    int ev_atom;      /* the atom whose located crossing stopped the step (-1: none; events then at a fixed time) */
#endif
} bm_ctx;

/* f(y) with the infusion rates u (not counted: the lane solver re-evaluates a lane's f with it) */
static void bm_f_uncounted(const double *y, const double *p, const double *u, double *dy, const bm_ctx *c) {
    bm_rhs(y, p, dy);
    if (c->infusing)
        for (int i = 0; i < BM_N; ++i) dy[i] += u[i];
}

static void bm_f(const double *y, const double *p, const double *u, double *dy, bm_ctx *c) {
    bm_f_uncounted(y, p, u, dy, c);
    c->stats[3]++;
}

/* bm_f on padded vectors (u padded too). */
static inline void bm_fv(const bm_v4 *y, const double *p, const bm_v4 *u, bm_v4 *dy, bm_ctx *c) {
    bm_rhs_vec((const double *)y, p, dy);
    if (c->infusing)
        for (int h = 0; h < BM_NV; ++h) dy[h] += u[h];
    c->stats[3]++;
}

/* LU with partial pivoting of the n x n matrix A (in place; rows swapped whole, P A = L U). Returns 0, or 1 if
 * singular.  Called with a compile-time n (BM_N, or BM_SENS_N for a sensitivity system's state block), so
 * each use is specialised when inlined. */
static inline int bm_lu_n(double *A, int *piv, const int n) {
    for (int k = 0; k < n; ++k) {
        int m = k;
        double amax = fabs(A[k * n + k]);
        for (int i = k + 1; i < n; ++i) {
            double a = fabs(A[i * n + k]);
            if (a > amax) { amax = a; m = i; }
        }
        piv[k] = m;
        if (amax == 0.0 || !isfinite(amax)) return 1;
        if (m != k) {
            for (int j = 0; j < n; ++j) { double t = A[k * n + j]; A[k * n + j] = A[m * n + j]; A[m * n + j] = t; }
        }
        double inv = 1.0 / A[k * n + k];
        for (int i = k + 1; i < n; ++i) {
            double l = A[i * n + k];
            if (l != 0.0) {
                l *= inv;
                A[i * n + k] = l;
                for (int j = k + 1; j < n; ++j) A[i * n + j] -= l * A[k * n + j];
            }
        }
    }
    return 0;
}

/* Solve with the factors of bm_lu_n: permute b first, then substitute. */
static inline void bm_lusolve_n(const double *A, const int *piv, double *b, const int n) {
    for (int k = 0; k < n; ++k) {
        int m = piv[k];
        if (m != k) { double t = b[k]; b[k] = b[m]; b[m] = t; }
    }
    for (int k = 0; k < n; ++k) {
        double bk = b[k];
        if (bk != 0.0) for (int i = k + 1; i < n; ++i) b[i] -= A[i * n + k] * bk;
    }
    for (int k = n - 1; k >= 0; --k) {
        double s = b[k];
        for (int j = k + 1; j < n; ++j) s -= A[k * n + j] * b[j];
        b[k] = s / A[k * n + k];
    }
}

#ifdef BM_SENS_N
/* A forward-sensitivity system (sensitivity.py): y = [x, S_1, ..., S_m] with BM_SENS_N states x.  Its
 * Jacobian is block lower triangular, every diagonal block the states' Jacobian df/dx (codegen checks the
 * pattern), so the dense fallback factors only that BM_SENS_N x BM_SENS_N block (bm_lu_n) and solves
 * block by block: (fac I - J_x) v_0 = b_0, then (fac I - J_x) v_k = b_k + (dJ S_k/dx) v_0.  Factoring the
 * whole BM_N x BM_N matrix would cost (m + 1)^3 times as much, and beyond BM_DENSE_MAX states there would
 * be no fallback at all (the step then shrinks until the static pivots are safe: a pre-equilibration of
 * Isensee_JCB2018, 1508 equations, took > 200000 steps). */
/* the dense fallback's storage: the factored state block, then a copy of the packed Jacobian (coupling) */
#define BM_DENSE_DIM BM_SENS_N
#define BM_DENSE_DOUBLES (BM_SENS_N * BM_SENS_N + BM_NSC)
#else
#define BM_DENSE_DIM BM_N
#define BM_DENSE_DOUBLES (BM_N * BM_N)
#endif

/* Mean square of v scaled by the tolerances at y0 (and y1): the square of the RMS error norm. */
static double bm_norm2(const double *v, const double *y0, const double *y1, bm_ctx *c) {
    double s = 0.0;
    for (int i = 0; i < BM_N; ++i) {
        double a = fabs(y0[i]), b = y1 ? fabs(y1[i]) : 0.0;
        double sk = c->atol[i] + c->rtol * (a > b ? a : b);
        double q = v[i] / sk;
        s += q * q;
    }
    return s / BM_N;
}

static double bm_norm(const double *v, const double *y0, const double *y1, bm_ctx *c) {
    return sqrt(bm_norm2(v, y0, y1, c));
}

/* ------------------------------------------------------------------ the controller's power
 * Every step's next size waits on err^(-BM_ERR_EXP) = err2^(-1/BM_ERR_DEN); libm's pow costs about
 * 90 cycles of latency here, a third of the chain between one step and the next.  bm_err_recip
 * computes it from the binary exponent and mantissa of err2: err2 = m 2^e with m in [1, 2),
 * 2^(-e/D) = 2^(-k) 2^(-r/D) for e = D k + r (a table of D values), m = c (1 + u) with c the
 * centre of m's 32nd of [1, 2) (a table of c^(-1/D) and 1/c), |u| <= 1/64, and (1 + u)^(-1/D)
 * by its binomial series to u^4 (Estrin's scheme).  Relative error below 1e-10 (checked against
 * pow in tests/compile/test_controller_power.py); outside 2^-1000 .. 2^1000, and at 0, pow. */
#if BM_ERR_DEN == 10
static const double BM_RG[32] = {
    0.998450782624496, 0.9954295229611708, 0.9925058798822222, 0.9896740036058295,
    0.9869285475072531, 0.9842646124223802, 0.981677698419033, 0.9791636628690569,
    0.9767186838611739, 0.9743392281606941, 0.9720220230562813, 0.969764031542821,
    0.9675624303782746, 0.9654145906252588, 0.9633180603481214, 0.961270549185984,
    0.9592699145635364, 0.9573141493358587, 0.955401370692456, 0.9535298101700069,
    0.9516978046438644, 0.9499037881857441, 0.9481462846898218, 0.9464239011820826,
    0.9447353217385444, 0.9430793019472443, 0.9414546638568388, 0.9398602913615393,
    0.9382951259780536, 0.9367581629753603, 0.9352484478226213, 0.9337650729244523,
};
static const double BM_RP2[10] = {
    1.0, 0.9330329915368074, 0.8705505632961241, 0.8122523963562356, 0.757858283255199,
    0.7071067811865476, 0.6597539553864471, 0.6155722066724582, 0.5743491774985174, 0.5358867312681466,
};
#define BM_RA1 (-1.0 / 10.0)
#define BM_RA2 (11.0 / 200.0)
#define BM_RA3 (-77.0 / 2000.0)
#define BM_RA4 (2387.0 / 80000.0)
#elif BM_ERR_DEN == 8
static const double BM_RG[32] = {
    0.9980638534375991, 0.9942901713853199, 0.9906411416345965, 0.9871092080553469,
    0.9836874694532844, 0.9803696066555214, 0.9771498194171266, 0.9740227716081424,
    0.9709835434146469, 0.9680275895072785, 0.9651507023079855, 0.9623489796296321,
    0.9596187960804303, 0.9569567777213328, 0.9543597795437195, 0.9518248654002383,
    0.9493492900760973, 0.9469304832335327, 0.9445660350002218, 0.9422536830044097,
    0.9399913006865092, 0.9377768867398064, 0.9356085555523219, 0.9334845285384449,
    0.9314031262631096, 0.9293627612734326, 0.9273619315631666, 0.9253992146043358,
    0.9234732618882052, 0.9215827939244848, 0.9197265956535405, 0.9179035122314918,
};
static const double BM_RP2[8] = {
    1.0, 0.9170040432046712, 0.8408964152537145, 0.7711054127039704,
    0.7071067811865476, 0.6484197773255048, 0.5946035575013605, 0.5452538663326288,
};
#define BM_RA1 (-1.0 / 8.0)
#define BM_RA2 (9.0 / 128.0)
#define BM_RA3 (-51.0 / 1024.0)
#define BM_RA4 (1275.0 / 32768.0)
#else
#error "BM_ERR_DEN must be 8 or 10"
#endif
static const double BM_RIC[32] = {
    0.9846153846153847, 0.9552238805970149, 0.927536231884058, 0.9014084507042254,
    0.8767123287671232, 0.8533333333333334, 0.8311688311688312, 0.810126582278481,
    0.7901234567901234, 0.7710843373493976, 0.7529411764705882, 0.735632183908046,
    0.7191011235955056, 0.7032967032967034, 0.6881720430107527, 0.6736842105263158,
    0.6597938144329897, 0.6464646464646465, 0.6336633663366337, 0.6213592233009708,
    0.6095238095238096, 0.5981308411214953, 0.5871559633027523, 0.5765765765765766,
    0.5663716814159292, 0.5565217391304348, 0.5470085470085471, 0.5378151260504201,
    0.5289256198347108, 0.5203252032520326, 0.512, 0.5039370078740157,
};

static inline double bm_err_recip(double err2) {
    if (!(err2 >= 0x1p-1000 && err2 < 0x1p1000)) return err2 > 0.0 ? pow(err2, -1.0 / BM_ERR_DEN) : INFINITY;
    uint64_t b;
    memcpy(&b, &err2, sizeof b);
    int e = (int)(b >> 52) - 1023;                   /* -1000 <= e < 1000 */
    int i = (int)(b >> 47) & 31;                     /* m in [1 + i/32, 1 + (i+1)/32) */
    b = (b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &b, sizeof m);
    int k = (e + 1000) / BM_ERR_DEN - 1000 / BM_ERR_DEN; /* floor(e / D): 1000 is a multiple of D */
    int r = e - BM_ERR_DEN * k;
    uint64_t sb = (uint64_t)(1023 - k) << 52;        /* 2^(-k) */
    double s;
    memcpy(&s, &sb, sizeof s);
    double u = (m - (1.0 + (i + 0.5) / 32.0)) * BM_RIC[i];
    double u2 = u * u;
    double poly = (1.0 + BM_RA1 * u) + u2 * ((BM_RA2 + BM_RA3 * u) + u2 * BM_RA4);
    return (s * (BM_RP2[r] * BM_RG[i])) * poly;
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

/* After a rejected first try since a dose (no accepted step since the last event): the step size
 * from the start-of-integration estimate when that is smaller than the controller's cut.  A dose
 * can make the step size kept from before it far too large (an antibody bolus here: error
 * estimates of 1e4-1e5), and the controller's cut of at most 5x per try then costs two or three
 * more rejections; the estimate sees the post-dose derivatives.  Taking it is a restart, so it
 * also clears the rejection flag (the next accepted step may grow).  *reject: that flag. */
static double bm_restart_step(double hnew, int *reject, const double *y, const double *p, const double *u,
                              const double *f0, double span, bm_ctx *c) {
    double hi = bm_initial_step(y, p, u, f0, span, c);
    if (hi < hnew) { *reject = 0; return hi; }
    return hnew;
}

/* Squared scaled norm of J f: the solution's second derivative (f does not depend on t) at y. */
static double bm_curv2(const double *J, const double *f, const double *y, bm_ctx *c) {
    double jf[BM_N];
    for (int i = 0; i < BM_N; ++i) jf[i] = 0.0;
    for (int k = 0; k < BM_NNZJ; ++k) jf[bm_jrow[k]] += J[k] * f[bm_jcol[k]]; /* rows in order, columns ascending */
    return bm_norm2(jf, y, NULL, c);
}

/* A dose that starts a fast transient (an antibody bolus clearing its target at ~30 /day) makes the
 * step size kept from before it fail by error estimates of 1e4-1e5; a dose that does not (most
 * doses) leaves the kept step fine.  The two differ in the solution's curvature: the scaled norm of
 * y'' = J f jumps 4000-10000 fold at the first kind and stays within a few per cent at the second
 * (reference problem).  The kept step was proposed for an error of about 0.9^5 ~ 0.6 of the
 * tolerance; a curvature up more than BM_CURV_JUMP-fold predicts an error of 10 or more, a near-certain
 * rejection, after which the solver would restart from the initial-step estimate anyway.  So the
 * first try after a dose takes that restart at once when the curvature jumped that much. */
#define BM_CURV_JUMP 16.0

/* The first try after an event: returns the step to try (hh, or the restart estimate) and consumes
 * c->curv_pre.  J, f0: at y, the post-event state. */
static double bm_after_event_step(double hh, const double *J, const double *y, const double *p, const double *u,
                                  const double *f0, double span, bm_ctx *c) {
    double pre = c->curv_pre;
    c->curv_pre = -1.0;
    if (bm_curv2(J, f0, y, c) > (BM_CURV_JUMP * BM_CURV_JUMP) * pre) {
        double hi = bm_initial_step(y, p, u, f0, span, c);
        if (hi < hh) return hi;
    }
    return hh;
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

/* A step size too small to make progress at time t (relative to max(|t|, 1) days). */
static inline int bm_below_hmin(double h, double t) {
    /* written so that a NaN or infinite step size counts as too small: halving it never ends */
    return !(h >= 1e-13 * (fabs(t) > 1.0 ? fabs(t) : 1.0) && h < HUGE_VAL);
}

/* Vectors in the stored inverse: BM_N columns of BM_NV (zero where structurally zero; cleared by the caller). */
#ifdef BM_HAVE_INV
#define BM_NX (BM_N * BM_NV)
#else
#define BM_NX 1
#endif

/* The dense pivoting fallback is compiled for models of at most BM_DENSE_MAX states (its matrix has
 * BM_N^2 entries and its factorisation costs BM_N^3/3 multiply-adds); larger models shorten the step
 * instead until the static pivots are safe (E tends to I/(h gamma) as h shrinks). */
#ifndef BM_DENSE_MAX
#define BM_DENSE_MAX 1000
#endif

/* Work arrays of one stretch of integration (bm_segment), sized by the model: the packed Jacobian and
 * factors, the stage vectors, the explicit inverse where compiled, and (separately) the dense matrix
 * of the pivoting fallback.  On the stack where all of it fits in BM_STACK_WORK_DOUBLES doubles (no
 * allocation per segment for small models); otherwise on the heap, the dense matrix allocated only
 * when a step first needs it. */
typedef struct {
    double J[BM_NJ], E[BM_NLU], dinv[BM_N];
    bm_v4 f0[BM_NV], K[BM_S][BM_NV], ys[BM_NV], fs[BM_NV], X[BM_NX];
    int piv[BM_N];
} bm_work;
#define BM_STACK_WORK_DOUBLES 8192
#if BM_NJ + BM_NLU + 2 * BM_N + (BM_S + 3) * BM_NVP + 4 * BM_NX + BM_DENSE_DOUBLES <= BM_STACK_WORK_DOUBLES
#define BM_WORK_ON_STACK 1
#endif

/* A zeroed bm_work on the heap (aligned for its vectors), or NULL. */
static bm_work *bm_work_alloc(void) {
    void *w = NULL;
    if (posix_memalign(&w, 64, sizeof(bm_work))) return NULL;
    memset(w, 0, sizeof(bm_work));
    return (bm_work *)w;
}

/* The dense matrix of the fallback (*D), allocated on first use; NULL when the model is too large. */
static double *bm_dense_buffer(double **D) {
#if BM_DENSE_DIM <= BM_DENSE_MAX
    if (!*D) *D = (double *)malloc(sizeof(double) * BM_DENSE_DOUBLES);
    return *D;
#else
    (void)D;
    return NULL;
#endif
}

/* Factor E = fac*I - J for the stage solves: the generated sparse LU in its static order (and the
 * explicit inverse X where compiled), or, when a static pivot is tiny or elimination moved it too far
 * from its diagonal entry (sparse_lu.PIVOT_GROWTH), the dense LU with partial pivoting in *D.
 * Returns 0 (sparse), 1 (dense), 2 (singular) or 3 (no safe static pivot and no dense fallback). */
static int bm_factor(const double *J, double fac, double *E, double *dinv, bm_v4 *X, int *piv, double **D) {
#ifdef BM_SENS_N
    /* the state block's sparse LU (its packed Jacobian is J's first entries), and the coupling
     * entries of J copied after the factors for the block solve (bm_factor_solve) */
    for (int k = 0; k < BM_NSC; ++k) E[BM_NLU_X + k] = J[bm_sc_k[k]];
#endif
    bm_build_E(J, fac, E);
    if (!bm_lu_fast(E, dinv, 1e-10 * fac)) {
#ifdef BM_HAVE_INV
        bm_inv_fast(E, dinv, (double *)X);
#else
        (void)X;
#endif
        return 0;
    }
    double *A = bm_dense_buffer(D);
    if (!A) return 3;
#ifdef BM_SENS_N
    memset(A, 0, sizeof(double) * BM_SENS_N * BM_SENS_N);
    for (int k = 0; k < BM_NNZJ; ++k)
        if (bm_jrow[k] < BM_SENS_N) A[bm_jrow[k] * BM_SENS_N + bm_jcol[k]] = -J[k];
    for (int k = 0; k < BM_NSC; ++k) A[BM_SENS_N * BM_SENS_N + k] = J[bm_sc_k[k]];
    for (int i = 0; i < BM_SENS_N; ++i) A[i * BM_SENS_N + i] += fac;
    return bm_lu_n(A, piv, BM_SENS_N) ? 2 : 1;
#else
    memset(A, 0, sizeof(double) * BM_N * BM_N);
    for (int k = 0; k < BM_NNZJ; ++k) A[bm_jrow[k] * BM_N + bm_jcol[k]] = -J[k];
    for (int i = 0; i < BM_N; ++i) A[i * BM_N + i] += fac;
    return bm_lu_n(A, piv, BM_N) ? 2 : 1;
#endif
}

/* Solve with the factors of bm_factor (path 0 or 1), in place. */
static inline void bm_factor_solve(int path, const double *E, const double *dinv, const bm_v4 *X, const int *piv,
                                   const double *D, bm_v4 *v) {
#ifdef BM_SENS_N
    if (path) {
        double *b = (double *)v;
        const double *Jc = D + BM_SENS_N * BM_SENS_N;
        bm_lusolve_n(D, piv, b, BM_SENS_N);
        for (int k = 0; k < BM_NSC; ++k) b[bm_sc_row[k]] += Jc[k] * b[bm_sc_col[k]];
        for (int s = BM_SENS_N; s < BM_N; s += BM_SENS_N) bm_lusolve_n(D, piv, b + s, BM_SENS_N);
        return;
    }
    {
        double *b = (double *)v;
        const double *Jc = E + BM_NLU_X;
        (void)X;
        bm_solve_fast(E, dinv, b);
        for (int k = 0; k < BM_NSC; ++k) b[bm_sc_row[k]] += Jc[k] * b[bm_sc_col[k]];
        for (int s = BM_SENS_N; s < BM_N; s += BM_SENS_N) bm_solve_fast(E, dinv, b + s);
        return;
    }
#else
    if (path) { bm_lusolve_n(D, piv, (double *)v, BM_N); return; }
#endif
#ifdef BM_HAVE_INV
    (void)dinv;
    bm_matvec_vec(X, v);
#else
    (void)X;
    bm_solve_fast(E, dinv, (double *)v);
#endif
}

/* Step size after a step of size hh with error err (err2 = err^2, r = err^-BM_ERR_EXP from bm_err_recip):
 * the elementary controller, and for an accepted step Gustafsson's predictive one once there is an
 * accepted step since the last event (hacc > 0; erracc: err^BM_ERR_EXP of that step).  Written with
 * the step ratio hnew/hh (no division on the path from the error to the next step). */
static inline double bm_propose(double hh, double err2, double r, double hacc, double erracc) {
    const double safe = 0.9, facmax = 6.0, facmin = 0.2;
    double f = safe * r;
    if (f > facmax) f = facmax;
    if (f < facmin) f = facmin;
    if (err2 <= 1.0 && hacc > 0.0) {
        double fg = ((hh / hacc) * erracc * safe) * (r * r);
        if (fg > facmax) fg = facmax;
        if (fg < facmin) fg = facmin;
        if (fg < f) f = fg;
    }
    return hh * f;
}

/* Dense output of an accepted step t -> tnew for output times in (t, tnew), tnew excluded when it
 * is the stop of a segment (last); advances *iout. Stage j's vector is K[j*ldk ...]. */
/* The dense output at th in [0, 1] of the step from y to ys (stage combinations K). */
static inline void bm_dense_at(const double *K, int ldk, const double *y, const double *ys, double th, double *yo) {
    double th1 = 1.0 - th;
    for (int i = 0; i < BM_N; ++i) {
        double dr[BM_ND];
        for (int r = 0; r < BM_ND; ++r) {
            double acc = 0.0;
            for (int j = 0; j < BM_S; ++j) acc += RH[r][j] * K[j * ldk + i];
            dr[r] = acc;
        }
        double inner = dr[BM_ND - 1];
        for (int r = BM_ND - 2; r >= 0; --r) inner = dr[r] + th * inner;
        yo[i] = (1.0 - th) * y[i] + th * (ys[i] + th1 * inner);
    }
}

static void bm_dense_outputs(const double *K, int ldk, const double *y, const double *ys, const double *p, double t,
                             double tnew, double ih, int last, const double *tout, int nout, int *iout, double *yout,
                             double *oout) {
    while (*iout < nout && (tout[*iout] < tnew || (!last && tout[*iout] == tnew))) {
        double *yo = yout + (long)(*iout) * BM_N;
        bm_dense_at(K, ldk, y, ys, (tout[*iout] - t) * ih, yo);
        if (oout) bm_obs(yo, p, oout + (long)(*iout) * BM_NOTOT);
        (*iout)++;
    }
}

/* ------------------------------------------------------------------ state-triggered events
 * (model.Event; generated pieces in events.py).  After every accepted step the triggers' root
 * functions g_k(t, y) are evaluated at the step's end; an atom (one comparison g_k OP 0) whose truth
 * differs from the step's start is located on the step's dense output by the Illinois variant of
 * regula falsi, to a bracket of 1e-13 max(|t|, 1) days (or 200 iterations), keeping the end where the
 * atom has its new truth.  The crossings are visited in time order; at the first where a trigger
 * goes from false to true the step is cut there, the state there is the dense output, and the
 * events execute (bm_ev_resolve) before integration restarts, as after a dose.  Two crossings of
 * one atom within one step are not seen (as in every step-wise root finder).  Every operation is
 * scalar and depends on the member's own numbers only, so the lane solver reproduces it exactly. */
#if BM_NE > 0
#define BM_EV_MAXCHAIN 1000

static inline int bm_ev_atom(double g, int op) {
    return op == 0 ? g < 0.0 : op == 1 ? g <= 0.0 : op == 2 ? g > 0.0 : g >= 0.0;
}

static void bm_ev_truth(const double *g, int *b) {
    int a[BM_NG];
    for (int k = 0; k < BM_NG; ++k) a[k] = bm_ev_atom(g[k], BM_EV_OP[k]);
    bm_ev_bool(a, b);
}

/* Root function k at th of the step t -> t + hh (state there in yo). */
static double bm_ev_g_at(int k, const double *K, int ldk, const double *y, const double *ys, const double *p,
                         double t, double hh, double th, double *yo) {
    double g[BM_NG];
    bm_dense_at(K, ldk, y, ys, th, yo);
    bm_ev_g(t + th * hh, yo, p, g);
    return g[k];
}

/*
 * After an accepted step t -> tend (= t + hh, or the segment's stop) from y to ys: the first th in
 * (0, 1] where a trigger turns from false to true, with the state there in yev; 2.0 when there is
 * none, and then c->eg and c->eb hold the step end's values.
 */
static double bm_ev_locate(const double *K, int ldk, const double *y, const double *ys, const double *p, double t,
                           double hh, double tend, bm_ctx *c, double *yev) {
    double g1[BM_NG], th[BM_NG], g[BM_NG];
    int cross[BM_NG], b[BM_NE], ncross = 0;
    bm_ev_g(tend, ys, p, g1);
    const double tol = 1e-13 * (fabs(t) > 1.0 ? fabs(t) : 1.0);
    for (int k = 0; k < BM_NG; ++k) {
        int a0 = bm_ev_atom(c->eg[k], BM_EV_OP[k]), a1 = bm_ev_atom(g1[k], BM_EV_OP[k]);
        cross[k] = a0 != a1;
        if (!cross[k]) continue;
        ncross++;
        /* Illinois: [lo, hi] brackets the change, hi with the new truth */
        double lo = 0.0, hi = 1.0, glo = c->eg[k], ghi = g1[k];
        int side = 0;
        for (int it = 0; it < 200 && (hi - lo) * fabs(hh) > tol; ++it) {
            double x = (ghi != glo) ? hi - ghi * (hi - lo) / (ghi - glo) : 0.5 * (lo + hi);
            if (!(x > lo && x < hi)) x = 0.5 * (lo + hi);
            double gx = bm_ev_g_at(k, K, ldk, y, ys, p, t, hh, x, yev);
            if (bm_ev_atom(gx, BM_EV_OP[k]) == a1) {
                hi = x; ghi = gx;
                if (side == 1) glo *= 0.5;
                side = 1;
            } else {
                lo = x; glo = gx;
                if (side == -1) ghi *= 0.5;
                side = -1;
            }
        }
        th[k] = hi;
    }
    if (ncross == 0) {
        memcpy(c->eg, g1, sizeof g1);
        return 2.0;
    }
    /* the crossings in time order: the first that turns a trigger on is the event */
    for (;;) {
        int kmin = -1;
        for (int k = 0; k < BM_NG; ++k)
            if (cross[k] && (kmin < 0 || th[k] < th[kmin])) kmin = k;
        if (kmin < 0) break;
        double x = th[kmin];
        for (int k = 0; k < BM_NG; ++k)
            if (cross[k] && th[k] == x) cross[k] = 0;
        if (x < 1.0) {
            bm_dense_at(K, ldk, y, ys, x, yev);
            bm_ev_g(t + x * hh, yev, p, g);
        } else {
            memcpy(yev, ys, sizeof(double) * BM_N);
            memcpy(g, g1, sizeof g);
        }
        bm_ev_truth(g, b);
        int on = 0;
        for (int e = 0; e < BM_NE; ++e) on |= b[e] && !c->eb[e];
        if (on) { c->ev_atom = kmin; return x; }
        memcpy(c->eb, b, sizeof b);
    }
    memcpy(c->eg, g1, sizeof g1);
    bm_ev_truth(g1, c->eb);
    return 2.0;
}

/* Trigger values before t0: each event's initial value. */
static void bm_ev_init(bm_ctx *c) {
    for (int e = 0; e < BM_NE; ++e) c->eb[e] = (BM_EV_FLAGS[e] >> 1) & 1;
    c->ev_atom = -1;
}

#ifdef BM_EV_SENS
/* ---- forward sensitivities across events (events.py generates bm_ev_dg, bm_ev_dh) ----------------
 * y holds the BM_NB model states, then the sensitivities S_s = dx/dtheta_s (s < BM_NS, BM_NB each).
 * At an event located at a crossing of atom k (root function g), the event time moves with theta:
 *     tau_s = dt_e/dtheta_s = -(dg/dx S_s + dg/dtheta_s) / (dg/dx f + dg/dt)      (f: before the event),
 * and 0 for events at a fixed time (doses, the start).  An event x+ = h(x-, theta) then maps
 *     S_s+ = dh/dx (S_s- + f- tau_s) + dh/dtheta_s - f+ tau_s
 * (h the identity for the states it does not assign).  Simultaneous events compose: each applies the
 * map with the instant's tau and its own f- and f+. */
static int bm_ev_sens_tau(double t, const double *y, const double *p, const double *u, const bm_ctx *c,
                          double *tau) {
    for (int s = 0; s < BM_NS; ++s) tau[s] = 0.0;
    if (c->ev_atom < 0) return 0;
    double gx[BM_NB], gp[BM_NS], gt = 0.0, f[BM_N];
    bm_ev_dg(c->ev_atom, t, y, p, gx, gp, &gt);
    bm_f_uncounted(y, p, u, f, c);
    double den = gt;
    for (int i = 0; i < BM_NB; ++i) den += gx[i] * f[i];
    if (!(fabs(den) > 0.0) || !isfinite(den)) return -1; /* the trigger touches zero: dt_e/dtheta undefined */
    for (int s = 0; s < BM_NS; ++s) {
        double num = gp[s];
        for (int i = 0; i < BM_NB; ++i) num += gx[i] * y[BM_NB + s * BM_NB + i];
        tau[s] = -num / den;
    }
    return 0;
}

/* Event e's assignments (values val) applied to y with the sensitivities' jump. */
static void bm_ev_sens_apply(int e, double t, double *y, const double *p, const double *u, const double *val,
                             const double *tau, const bm_ctx *c) {
    enum { NA_E = BM_NA > 0 ? BM_NA : 1 };
    double hx[NA_E * BM_NB], hp[NA_E * BM_NS], fm[BM_N], fp[BM_N], snew[NA_E];
    bm_ev_dh(e, t, y, p, hx, hp);
    bm_f_uncounted(y, p, u, fm, c);
    const int off = BM_EV_OFF[e], na = BM_EV_OFF[e + 1] - off;
    for (int j = 0; j < na; ++j) y[BM_EV_TGT[off + j]] = val[off + j];
    bm_f_uncounted(y, p, u, fp, c);
    for (int s = 0; s < BM_NS; ++s) {
        double *S = y + BM_NB + s * BM_NB;
        for (int a = 0; a < na; ++a) {
            double acc = hp[a * BM_NS + s];
            for (int i = 0; i < BM_NB; ++i) acc += hx[a * BM_NB + i] * (S[i] + fm[i] * tau[s]);
            snew[a] = acc;
        }
        for (int i = 0; i < BM_NB; ++i) S[i] += (fm[i] - fp[i]) * tau[s];
        for (int a = 0; a < na; ++a) S[BM_EV_TGT[off + a]] = snew[a] - fp[BM_EV_TGT[off + a]] * tau[s];
    }
}
#endif /* BM_EV_SENS */

/*
 * Execute the state events at time t (after the timed events of t): those whose trigger turned
 * from false to true since c->eb, one at a time, highest priority first (an event with a priority
 * before one without; ties in declaration order); after each, the triggers are evaluated again and
 * the events they turn on join, while a non-persistent pending event whose trigger turned off is
 * dropped.  Returns the number executed (then c->eg, c->eb are the final state's), or -1 after
 * BM_EV_MAXCHAIN executions.
 */
static int bm_ev_resolve(double t, double *y, double *p, const double *u, bm_ctx *c) {
    double g[BM_NG], val[BM_NA > 0 ? BM_NA : 1];
    int b[BM_NE], pend[BM_NE], npend = 0, count = 0;
#ifdef BM_EV_SENS
    int vat[BM_NE]; /* the number of executions at this instant when event e's values were computed */
    double tau[BM_NS];
#else
    (void)u;
#endif
    bm_ev_g(t, y, p, g);
    bm_ev_truth(g, b);
    for (int e = 0; e < BM_NE; ++e) {
        pend[e] = b[e] && !c->eb[e];
        if (pend[e]) {
            npend++;
            if (BM_EV_FLAGS[e] & 4) bm_ev_values(e, t, y, p, val + BM_EV_OFF[e]);
#ifdef BM_EV_SENS
            vat[e] = 0;
#endif
        }
        c->eb[e] = b[e];
    }
#ifdef BM_EV_SENS
    if (npend > 0 && bm_ev_sens_tau(t, y, p, u, c, tau) < 0) { c->ev_atom = -1; return -2; }
#endif
    c->ev_atom = -1;
    while (npend > 0) {
        int best = -1, bhas = 0;
        double bpr = 0.0;
        for (int e = 0; e < BM_NE; ++e) {
            if (!pend[e]) continue;
            int has = (BM_EV_FLAGS[e] >> 3) & 1;
            double pr = has ? bm_ev_prio(e, t, y, p) : 0.0;
            if (best < 0 || (has && !bhas) || (has && bhas && pr > bpr)) { best = e; bhas = has; bpr = pr; }
        }
        pend[best] = 0;
        npend--;
        if (++count > BM_EV_MAXCHAIN) return -1;
        if (!(BM_EV_FLAGS[best] & 4)) bm_ev_values(best, t, y, p, val + BM_EV_OFF[best]);
#ifdef BM_EV_SENS
        /* values from the trigger time after another event changed the state: their jump is not supported */
        if ((BM_EV_FLAGS[best] & 4) && BM_EV_READS_X[best] && vat[best] != count - 1) return -2;
        bm_ev_sens_apply(best, t, y, p, u, val, tau, c);
#endif
        int setp = 0;
        for (int j = BM_EV_OFF[best]; j < BM_EV_OFF[best + 1]; ++j) {
            int tg = BM_EV_TGT[j];
            if (tg >= 0) y[tg] = val[j];
            else { p[-1 - tg] = val[j]; setp = 1; }
        }
        if (setp) bm_derive(p);
        c->stats[6]++;
        bm_ev_g(t, y, p, g);
        bm_ev_truth(g, b);
        for (int e = 0; e < BM_NE; ++e) {
            if (b[e] && !c->eb[e] && !pend[e]) {
                pend[e] = 1;
                npend++;
                if (BM_EV_FLAGS[e] & 4) bm_ev_values(e, t, y, p, val + BM_EV_OFF[e]);
#ifdef BM_EV_SENS
                vat[e] = count;
#endif
            } else if (!b[e] && pend[e] && !(BM_EV_FLAGS[e] & 1)) {
                pend[e] = 0;
                npend--;
            }
            c->eb[e] = b[e];
        }
    }
    memcpy(c->eg, g, sizeof g);
    return count;
}
#endif /* BM_NE > 0 */

/*
 * Integrate from *t to tstop (> *t). Writes interpolated outputs for output
 * times in (*t, tstop) starting at *iout. On return *t == tstop on success.
 * *h holds the step size to try next.
 */
static int bm_segment_work(double *t, double tstop, bm_v4 *y, const double *p, const bm_v4 *u, double *h,
                           const double *tout, int nout, int *iout, double *yout, double *oout, bm_ctx *c,
                           double *hacc, double *erracc, long *naccept, bm_work *w, double **D) {
    double *J = w->J, *E = w->E, *dinv = w->dinv;
    bm_v4 *f0 = w->f0, (*K)[BM_NV] = w->K, *ys = w->ys, *fs = w->fs, *X = w->X;
    int *piv = w->piv;
    int reject = 0, have_f0 = 0;
    const double *yd = (const double *)y, *ysd = (const double *)ys;
    memset(X, 0, sizeof w->X); /* structural zeros of the inverse are never written */

    while (*t < tstop) {
        if (c->stats[0] >= c->max_steps) {
            /* name the state that changes fastest relative to its tolerance */
            bm_fv(y, p, u, f0, c);
            c->fail_t = *t; c->fail_state = bm_worst((const double *)f0, yd, c); return BM_ERR_MAXSTEPS;
        }
        double hh = *h, h_try;
        int last = 0;
        if (!have_f0) {
            bm_fv(y, p, u, f0, c); have_f0 = 1;
            /* a right-hand side that is not finite here (e.g. a power of a state at 0 with a negative
             * exponent) cannot be integrated: fail at once instead of shrinking a NaN step */
            for (int i = 0; i < BM_N; ++i)
                if (!isfinite(((const double *)f0)[i])) { c->fail_t = *t; c->fail_state = i; return BM_ERR_NONFINITE; }
        }
        bm_jac(yd, p, J);
        c->stats[4]++;
        if (c->curv_pre >= 0.0 && !reject && *hacc == 0.0)
            hh = bm_after_event_step(hh, J, yd, p, (const double *)u, (const double *)f0, tstop - *t, c);
        if (hh > c->hmax) hh = c->hmax;
        h_try = hh;
        if (*t + 1.0001 * hh >= tstop) { hh = tstop - *t; last = 1; }
        double fac = 1.0 / (hh * R_GAMMA);
        int dense;
        for (;;) {
            c->stats[5]++;
            dense = bm_factor(J, fac, E, dinv, X, piv, D);
            if (dense < 2) break;
            hh *= 0.5; last = 0; fac = 1.0 / (hh * R_GAMMA);
            if (bm_below_hmin(hh, *t)) {
                c->fail_t = *t; c->fail_state = bm_worst((const double *)f0, yd, c);
                return dense == 3 ? BM_ERR_PIVOT : BM_ERR_HMIN;
            }
        }
#define BM_SOLVE(v) bm_factor_solve(dense, E, dinv, X, piv, *D, (v))
        c->stats[0]++;
        double ih = 1.0 / hh;
        memcpy(K[0], f0, sizeof K[0]);
        BM_SOLVE(K[0]);
        /* per element: the lane solver's order of operations (solver_lanes.c); unrolled, so that the
         * stage vectors can live in registers */
#pragma GCC unroll 8
        for (int st = 1; st < BM_S; ++st) {
            if (st > 1 && bm_ra_continues(st)) { /* ys holds Y_{st-1} */
                for (int v = 0; v < BM_NV; ++v) ys[v] += K[st - 1][v];
            } else {
                for (int v = 0; v < BM_NV; ++v) {
                    bm_v4 acc = y[v];
#pragma GCC unroll 8
                    for (int j = 0; j < st; ++j) acc += RA[st][j] * K[j][v];
                    ys[v] = acc;
                }
            }
            bm_fv(ys, p, u, fs, c);
            for (int v = 0; v < BM_NV; ++v) {
                bm_v4 acc = {0.0, 0.0, 0.0, 0.0};
#pragma GCC unroll 8
                for (int j = 0; j < st; ++j) acc += RC[st][j] * K[j][v];
                K[st][v] = fs[v] + ih * acc;
            }
            BM_SOLVE(K[st]);
        }
        if (bm_ra_continues(BM_S)) {
            for (int v = 0; v < BM_NV; ++v) ys[v] += K[BM_S - 1][v];
        } else {
            for (int v = 0; v < BM_NV; ++v) {
                bm_v4 acc = y[v];
#pragma GCC unroll 8
                for (int j = 0; j < BM_S; ++j) acc += RA[BM_S][j] * K[j][v];
                ys[v] = acc;
            }
        }
        const double *kerr = (const double *)K[BM_S - 1];

        double err2 = bm_norm2(kerr, yd, ysd, c);
#ifdef BM_DEBUG
        { int w = bm_worst(kerr, ysd, c); fprintf(stderr, "t=%.6g h=%.3g err=%.3g worst=%d y=%.3g ynew=%.3g kerr=%.3g\n", *t, hh, sqrt(err2), w, yd[w], ysd[w], kerr[w]); }
#endif
        int finite = isfinite(err2);
        for (int i = 0; finite && i < BM_N; ++i) finite = isfinite(ysd[i]);
        if (!finite) {
            *h = hh * 0.25;
            reject = 1;
            if (bm_below_hmin(*h, *t)) {
                c->fail_t = *t; c->fail_state = bm_worst(kerr, ysd, c); return BM_ERR_NONFINITE;
            }
            c->stats[2]++;
            continue;
        }
        double r = bm_err_recip(err2);
        double hnew = bm_propose(hh, err2, r, *hacc, *erracc);
        if (err2 <= 1.0) {
            *hacc = hh;
            *erracc = err2 > 1e-4 ? 1.0 / r : ERRACC_FLOOR; /* used by the next step's proposal only */
            (*naccept)++;
            c->stats[1]++;
            double tnew = last ? tstop : *t + hh;
#if BM_NE > 0
            {
                double yev[BM_N];
                double th = bm_ev_locate((const double *)K, BM_NVP, yd, ysd, p, *t, hh, tnew, c, yev);
                if (th <= 1.0) { /* a trigger turned on at th: stop there (outputs there come after the events) */
                    if (th < 1.0) tnew = *t + th * hh;
                    c->curv_pre = bm_curv2(J, (const double *)f0, yd, c);
                    bm_dense_outputs((const double *)K, BM_NVP, yd, ysd, p, *t, tnew, ih, 1, tout, nout, iout, yout,
                                     oout);
                    memcpy(y, yev, sizeof yev);
                    *t = tnew;
                    if (reject && hnew > hh) hnew = hh;
                    *h = hnew;
                    return BM_STOP_EVENT;
                }
            }
#endif
            if (last) c->curv_pre = bm_curv2(J, (const double *)f0, yd, c); /* for the first try after tstop */
            bm_dense_outputs((const double *)K, BM_NVP, yd, ysd, p, *t, tnew, ih, last, tout, nout, iout, yout, oout);
            memcpy(y, ys, sizeof w->ys);
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
            else if (*hacc == 0.0) hnew = bm_restart_step(hnew, &reject, yd, p, (const double *)u, (const double *)f0,
                                                          tstop - *t, c);
            *h = hnew;
            if (bm_below_hmin(*h, *t)) {
                c->fail_t = *t; c->fail_state = bm_worst(kerr, ysd, c); return BM_ERR_HMIN;
            }
        }
    }
    return BM_OK;
}

/* bm_segment_work with its work arrays (bm_work): on the stack for small models, else on the heap. */
static int bm_segment(double *t, double tstop, bm_v4 *y, const double *p, const bm_v4 *u, double *h,
                      const double *tout, int nout, int *iout, double *yout, double *oout, bm_ctx *c,
                      double *hacc, double *erracc, long *naccept) {
#ifdef BM_WORK_ON_STACK
    bm_work w;
    double Dst[BM_DENSE_DOUBLES], *D = Dst;
    return bm_segment_work(t, tstop, y, p, u, h, tout, nout, iout, yout, oout, c, hacc, erracc, naccept, &w, &D);
#else
    bm_work *w = bm_work_alloc();
    double *D = NULL;
    if (!w) { c->fail_t = *t; c->fail_state = -1; return BM_ERR_NOMEM; }
    int rc = bm_segment_work(t, tstop, y, p, u, h, tout, nout, iout, yout, oout, c, hacc, erracc, naccept, w, &D);
    free(D);
    free(w);
    return rc;
#endif
}

static void bm_apply_event(int kind, int idx, double val, double *y, double *p, double *u, bm_ctx *c) {
    switch (kind) {
        case BM_EV_BOLUS: y[idx] += val; break;
        case BM_EV_RATE: u[idx] += val; c->infusing = 1; break;
        case BM_EV_SETPAR: p[idx] = val; bm_derive(p); break;
        case BM_EV_SETSTATE: y[idx] = val; break;
        default: /* BM_EV_GATED + j: a bolus given only while parameter j (an adaptive dose's flag) is on */
            if (kind >= BM_EV_GATED && p[kind - BM_EV_GATED] > 0.5) y[idx] += val;
            break;
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
    bm_v4 yv[BM_NV], uv[BM_NV]; /* padded: the padding stays zero */
    double p[BM_NPX], f0[BM_N];
    double *y = (double *)yv, *u = (double *)uv;
    memset(yv, 0, sizeof yv);
    memcpy(y, y0, sizeof(double) * BM_N);
    if (BM_NP > 0) memcpy(p, p0, sizeof(double) * BM_NP);
    bm_derive(p);
    memset(uv, 0, sizeof uv);
    for (int k = 0; k < BM_NSTATS; ++k) c->stats[k] = 0;
    c->fail_t = t0; c->fail_state = -1;
    c->infusing = 0;
    c->curv_pre = -1.0;
#if BM_NE > 0
    bm_ev_init(c);
#endif
    double t = t0, h = c->h_init, hacc = 0.0, erracc = 1.0; /* erracc: err^BM_ERR_EXP of the last accepted step */
    long naccept = 0;
    int iev = 0, iout = 0;
    double tend = nout > 0 ? tout[nout - 1] : t0;
    for (;;) {
#if BM_NE > 0
        if (iev == 0 && nev > 0 && ev_t[0] <= t) {
            /* timed events at the start: the state events that hold at t0 (their initial value false) execute
             * first, so that a flag they set is known to the timed events of t0 -- an adaptive dose on day 0
             * is given when its state starts above the threshold (dosing.py Dose.gate_module) */
            int nex0 = bm_ev_resolve(t, y, p, u, c);
            if (nex0 < 0) {
                c->fail_t = t;
                for (long i = 0; i < (long)nout * BM_N; ++i) yout[i] = NAN;
                if (oout)
                    for (long i = 0; i < (long)nout * BM_NOTOT; ++i) oout[i] = NAN;
                return nex0 == -2 ? BM_ERR_EVSENS : BM_ERR_EVENTS;
            }
        }
#endif
        while (iev < nev && ev_t[iev] <= t) {
            bm_apply_event(ev_kind[iev], ev_idx[iev], ev_val[iev], y, p, u, c);
            iev++;
            hacc = 0.0; /* the error history before a dose says nothing about the step after it */
        }
#if BM_NE > 0
        {
            int nex = bm_ev_resolve(t, y, p, u, c);
            if (nex < 0) {
                c->fail_t = t;
                for (long i = (long)iout * BM_N; i < (long)nout * BM_N; ++i) yout[i] = NAN;
                if (oout)
                    for (long i = (long)iout * BM_NOTOT; i < (long)nout * BM_NOTOT; ++i) oout[i] = NAN;
                return nex == -2 ? BM_ERR_EVSENS : BM_ERR_EVENTS;
            }
            if (nex > 0) hacc = 0.0;
        }
#endif
        while (iout < nout && tout[iout] <= t) {
            memcpy(yout + (long)iout * BM_N, y, sizeof(double) * BM_N);
            if (oout) bm_obs(y, p, oout + (long)iout * BM_NOTOT);
            iout++;
        }
        if (iout >= nout) break;
        double tstop = (iev < nev && ev_t[iev] < tend) ? ev_t[iev] : tend;
        if (h <= 0.0) {
            bm_f(y, p, u, f0, c);
            h = bm_initial_step(y, p, u, f0, tstop - t, c);
        }
        int rc = bm_segment(&t, tstop, yv, p, uv, &h, tout, nout, &iout, yout, oout, c, &hacc, &erracc, &naccept);
        if (rc == BM_STOP_EVENT) continue;
        if (rc != BM_OK) {
            /* outputs the solve did not reach are NaN (every output is written: callers need not clear) */
            for (long i = (long)iout * BM_N; i < (long)nout * BM_N; ++i) yout[i] = NAN;
            if (oout)
                for (long i = (long)iout * BM_NOTOT; i < (long)nout * BM_NOTOT; ++i) oout[i] = NAN;
            return rc;
        }
    }
    return BM_OK;
}

/* ------------------------------------------------------------------ exported entry points */

int bm_sizes(int *out) { out[0] = BM_N; out[1] = BM_NP; out[2] = BM_NO; return 0; }

/* p extended by the derived parameters */
static void bm_extend(const double *p, double *pe) {
    if (BM_NP > 0) memcpy(pe, p, sizeof(double) * BM_NP);
    bm_derive(pe);
}

/* err2^(-1/BM_ERR_DEN) as the step-size controller computes it (tests compare it with pow). */
double bm_err_recip_ext(double err2) { return bm_err_recip(err2); }
int bm_err_den_ext(void) { return BM_ERR_DEN; }

void bm_rhs_ext(const double *y, const double *p, double *dy) { double pe[BM_NPX]; bm_extend(p, pe); bm_rhs(y, pe, dy); }
/* The Jacobian as a dense row-major BM_N x BM_N matrix. Returns 0, or 1 when out of memory. */
int bm_jac_ext(const double *y, const double *p, double *J) {
    double pe[BM_NPX];
    double *Jp = (double *)malloc(sizeof(double) * BM_NJ);
    if (!Jp) return 1;
    bm_extend(p, pe);
    memset(J, 0, sizeof(double) * BM_N * BM_N);
    bm_jac(y, pe, Jp);
    for (int k = 0; k < BM_NNZJ; ++k) J[bm_jrow[k] * BM_N + bm_jcol[k]] = Jp[k];
    free(Jp);
    return 0;
}
void bm_obs_ext(const double *y, const double *p, double *o) {
    double pe[BM_NPX];
    bm_extend(p, pe);
    if (BM_NO > 0) bm_obs(y, pe, o);
}

/*
 * Solve (I/(h gamma) - J(y)) x = b in place with fac = 1/(h gamma), as a step does: the generated
 * sparse factors (and explicit inverse, where compiled), or the dense pivoting LU when a static pivot
 * is unsafe. Returns 0 (sparse path), 1 (dense fallback), 2 (singular), 3 (no safe static pivot and no
 * dense fallback) or -1 (out of memory). For tests.
 */
int bm_iter_solve_ext(const double *y, const double *p, double fac, double *b) {
    bm_work *w = bm_work_alloc();
    double *D = NULL;
    double pe[BM_NPX];
    if (!w) return -1;
    bm_extend(p, pe);
    memcpy(w->f0, b, sizeof(double) * BM_N);
    bm_jac(y, pe, w->J);
    int path = bm_factor(w->J, fac, w->E, w->dinv, w->X, w->piv, &D);
    if (path < 2) bm_factor_solve(path, w->E, w->dinv, w->X, w->piv, D, w->f0);
    memcpy(b, w->f0, sizeof(double) * BM_N);
    free(D);
    free(w);
    return path;
}

/* Evaluate the RHS at many (y, p) pairs: Y is m x N, P is m x NP. */
void bm_rhs_many(int m, const double *Y, const double *P, double *DY) {
    double pe[BM_NPX];
    for (int k = 0; k < m; ++k) {
        bm_extend(P + (long)k * BM_NPTOT, pe);
        bm_rhs(Y + (long)k * BM_N, pe, DY + (long)k * BM_N);
    }
}

/*
 * Solve nsets problems sharing the event schedule and output times; member k
 * uses Y0[k*N..], P[k*NP..]. status[k] is its BM_* code; fail_t/fail_state
 * say where it failed. stats is nsets x BM_NSTATS. opts = {rtol, hmax, h_init, max_steps}.
 */
#ifdef BM_L
static int bm_solve_lanes(int nsets, const double *Y0, const double *P, double t0, const double *tout, int nout,
                          const double *ev_t, const int *ev_kind, const int *ev_idx, const double *ev_val, int nev,
                          const double *opts, const double *atol, double *yout, double *oout, long *stats,
                          int *status, double *fail_t, int *fail_state);
#endif

int bm_solve_batch(int nsets, const double *Y0, const double *P, double t0, const double *tout, int nout,
                   const double *ev_t, const int *ev_kind, const int *ev_idx, const double *ev_val, int nev,
                   const double *opts, const double *atol, double *yout, double *oout, long *stats,
                   int *status, double *fail_t, int *fail_state) {
    int nfail = 0;
#ifdef BM_L
    /* several members: lock-step lanes (solver_lanes.c); same results as one at a time */
    if (nsets > 1) {
        nfail = bm_solve_lanes(nsets, Y0, P, t0, tout, nout, ev_t, ev_kind, ev_idx, ev_val, nev, opts, atol, yout,
                               oout, stats, status, fail_t, fail_state);
        if (nfail >= 0) return nfail;
        nfail = 0; /* no memory for the lanes' workspace: one at a time */
    }
#endif
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

/* bm_solve_batch's arguments in one block, so that a caller from Python passes one pointer
 * (ctypes converts each argument of a call; nineteen of them cost more than a microsecond). */
typedef struct {
    long long nsets, nout, nev;
    double t0;
    const double *Y0, *P, *tout, *ev_t;
    const int *ev_kind, *ev_idx;
    const double *ev_val, *opts, *atol;
    double *yout, *oout;
    long *stats;
    int *status;
    double *fail_t;
    int *fail_state;
} bm_call;

int bm_solve_packed(const bm_call *a) {
    return bm_solve_batch((int)a->nsets, a->Y0, a->P, a->t0, a->tout, (int)a->nout, a->ev_t, a->ev_kind, a->ev_idx,
                          a->ev_val, (int)a->nev, a->opts, a->atol, a->yout, a->oout, a->stats, a->status, a->fail_t,
                          a->fail_state);
}
