"""Citation strings shared by the modules of the bone-metastasis model.

The short ids are those of ``shared/spec/biology.md``; named papers are cited
in full once here and by short name in parameter sources.
"""

from __future__ import annotations

__all__ = ["CAL", "ER", "SRS", "DKK1", "TAM", "TME", "CHOICE", "KOMAROVA", "LUZZI", "BUTLER", "QIAN", "TIAN",
           "MUNDY", "KUZNETSOV"]

#: Baylor (X. Zhang lab): ERα-active macrophages shield bone metastases from T cells; fulvestrant.
ER = "ER"
#: HHMI/MSK (J. Massagué lab, Cell 2013): CXCL12/IGF1 stroma selects Src-response-signature cells.
SRS = "SRS"
#: Ludwig/Weill Cornell (Cancer Cell 2025): DKK1 makes neutrophils immature and suppressive.
DKK1 = "DKK1"
#: MSK (M. Li lab, Science 2014): TAMs come from recruited monocytes, proliferate, need Notch.
TAM = "TAM"
#: 2025 overview: hijacked macrophages and neutrophils help cells break free and spread.
TME = "TME"
#: The value came out of the qualitative calibration of the outcome catalogue.
CAL = "calibrated on O1-O21 and P1-P6 (member 11 of the shipped ensemble, examples/ensemble_bone_metastasis.py)"
#: The value is a modelling choice (order of magnitude reasoned in the description), open to calibration.
CHOICE = "modelling choice"
#: Komarova SV, Smith RJ, Dixon SJ, Sims SM, Wahl LM. Mathematical model predicts a critical role for
#: osteoclast autocrine regulation in the control of bone remodeling. Bone 33:206-215 (2003).
KOMAROVA = "Komarova et al. 2003 (Bone 33:206)"
#: Luzzi KJ et al. Multistep nature of metastatic inefficiency. Am J Pathol 153:865-873 (1998).
LUZZI = "Luzzi et al. 1998 (Am J Pathol 153:865)"
#: Butler TP, Gullino PM. Quantitation of cell shedding into efferent blood of mammary adenocarcinoma.
#: Cancer Res 35:512-516 (1975).
BUTLER = "Butler & Gullino 1975 (Cancer Res 35:512)"
#: Qian BZ et al. CCL2 recruits inflammatory monocytes to facilitate breast-tumour metastasis. Nature 475:222 (2011).
QIAN = "Qian et al. 2011 (Nature 475:222)"
#: Tian E et al. The role of the Wnt-signaling antagonist DKK1 in the development of osteolytic lesions in
#: multiple myeloma. N Engl J Med 349:2483-2494 (2003).
TIAN = "Tian et al. 2003 (N Engl J Med 349:2483)"
#: Mundy GR. Metastasis to bone: causes, consequences and therapeutic opportunities. Nat Rev Cancer 2:584 (2002).
MUNDY = "Mundy 2002 (Nat Rev Cancer 2:584)"
#: Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS. Nonlinear dynamics of immunogenic tumors: parameter
#: estimation and global bifurcation analysis. Bull Math Biol 56:295-321 (1994).
KUZNETSOV = "Kuznetsov et al. 1994 (Bull Math Biol 56:295)"
