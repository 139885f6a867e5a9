"""bonemet_ode.analysis"""
