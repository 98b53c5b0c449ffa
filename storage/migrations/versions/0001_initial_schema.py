"""Initial schema: athletes, sessions, calibrations, trials, camera videos, trajectories,
reps, per-frame series, strength tests, processing runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

#: JSON on SQLite, JSONB on PostgreSQL (frozen here: migrations never import the models).
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('athletes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_athletes')),
    sa.UniqueConstraint('name', name=op.f('uq_athletes_name'))
    )
    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('athlete_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('folder_path', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('pain_outside_lifting', JSON, nullable=True),
    sa.Column('history', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_sessions_athlete_id_athletes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('athlete_id', 'date', 'name', name=op.f('uq_sessions_athlete_id_date_name'))
    )
    op.create_index(op.f('ix_sessions_athlete_id_date'), 'sessions', ['athlete_id', 'date'], unique=False)
    op.create_index(op.f('ix_sessions_date'), 'sessions', ['date'], unique=False)
    op.create_table('calibrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('rig_sha256', sa.String(length=64), nullable=False),
    sa.Column('rig_toml', sa.Text(), nullable=False),
    sa.Column('parameters', JSON, nullable=True),
    sa.Column('camera_errors_px', JSON, nullable=True),
    sa.Column('verdict', sa.String(length=64), nullable=True),
    sa.Column('provenance', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_calibrations_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibrations')),
    sa.UniqueConstraint('session_id', 'rig_sha256', name=op.f('uq_calibrations_session_id_rig_sha256'))
    )
    op.create_table('strength_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('athlete_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('muscle_group', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('position', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=4), nullable=False),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("position IN ('supine', 'prone', 'side_lying', 'seated', 'standing')", name=op.f('ck_strength_tests_position')),
    sa.CheckConstraint("side IN ('left', 'right', 'bilateral')", name=op.f('ck_strength_tests_side')),
    sa.CheckConstraint("unit IN ('N', 'Nm', 'kg')", name=op.f('ck_strength_tests_unit')),
    sa.CheckConstraint('value > 0', name=op.f('ck_strength_tests_value_positive')),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_strength_tests_athlete_id_athletes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_strength_tests_session_id_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strength_tests'))
    )
    op.create_index(op.f('ix_strength_tests_athlete_id_date'), 'strength_tests', ['athlete_id', 'date'], unique=False)
    op.create_table('trials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('calibration_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('exercise', sa.String(length=32), nullable=False),
    sa.Column('load_kg', sa.Float(), nullable=True),
    sa.Column('one_rm_kg', sa.Float(), nullable=True),
    sa.Column('percent_1rm', sa.Float(), nullable=True),
    sa.Column('pain', JSON, nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('alignment_source', sa.String(length=32), nullable=True),
    sa.Column('alignment_left_deg', sa.Float(), nullable=True),
    sa.Column('alignment_right_deg', sa.Float(), nullable=True),
    sa.Column('alignment_provenance', JSON, nullable=True),
    sa.Column('n_reps', sa.Integer(), nullable=True),
    sa.Column('reading', sa.String(length=16), nullable=True),
    sa.Column('reasons', JSON, nullable=True),
    sa.Column('details', JSON, nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("reading IN ('none', 'transient', 'red_flag')", name=op.f('ck_trials_reading')),
    sa.ForeignKeyConstraint(['calibration_id'], ['calibrations.id'], name=op.f('fk_trials_calibration_id_calibrations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_trials_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trials')),
    sa.UniqueConstraint('session_id', 'name', name=op.f('uq_trials_session_id_name'))
    )
    op.create_index(op.f('ix_trials_alignment_source'), 'trials', ['alignment_source'], unique=False)
    op.create_index(op.f('ix_trials_load_kg'), 'trials', ['load_kg'], unique=False)
    op.create_index(op.f('ix_trials_reading'), 'trials', ['reading'], unique=False)
    op.create_table('camera_videos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('camera', sa.String(length=100), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('n_frames', sa.Integer(), nullable=True),
    sa.Column('width_px', sa.Integer(), nullable=True),
    sa.Column('height_px', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_camera_videos_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera_videos')),
    sa.UniqueConstraint('trial_id', 'camera', name=op.f('uq_camera_videos_trial_id_camera'))
    )
    op.create_table('frame_series',
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('columns', JSON, nullable=False),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_frame_series_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trial_id', name=op.f('pk_frame_series'))
    )
    op.create_table('processing_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_uuid', sa.String(length=64), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('software_version', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('settings', JSON, nullable=True),
    sa.Column('timings_s', JSON, nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('ok', 'failed')", name=op.f('ck_processing_runs_status')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_processing_runs_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_runs')),
    sa.UniqueConstraint('run_uuid', 'trial_id', name=op.f('uq_processing_runs_run_uuid_trial_id'))
    )
    op.create_index(op.f('ix_processing_runs_trial_id'), 'processing_runs', ['trial_id'], unique=False)
    op.create_table('reps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('rep_index', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=True),
    sa.Column('bottom_s', sa.Float(), nullable=True),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('reading', sa.String(length=16), nullable=False),
    sa.Column('reasons', JSON, nullable=True),
    sa.Column('pain', sa.Float(), nullable=True),
    sa.Column('metrics', JSON, nullable=True),
    sa.Column('extra', JSON, nullable=True),
    sa.Column('left_medial_knee_shift_peak_mm', sa.Float(), nullable=True),
    sa.Column('left_knee_over_foot_peak_mm', sa.Float(), nullable=True),
    sa.Column('left_shank_frontal_tilt_peak_deg', sa.Float(), nullable=True),
    sa.Column('left_knee_abduction_peak_deg', sa.Float(), nullable=True),
    sa.Column('left_hip_adduction_peak_deg', sa.Float(), nullable=True),
    sa.Column('left_hip_int_rotation_peak_deg', sa.Float(), nullable=True),
    sa.Column('left_knee_flexion_peak_deg', sa.Float(), nullable=True),
    sa.Column('left_heel_lift_mm', sa.Float(), nullable=True),
    sa.Column('left_foot_rotation_deg', sa.Float(), nullable=True),
    sa.Column('left_foot_slide_mm', sa.Float(), nullable=True),
    sa.Column('left_reading', sa.String(length=16), nullable=True),
    sa.Column('right_medial_knee_shift_peak_mm', sa.Float(), nullable=True),
    sa.Column('right_knee_over_foot_peak_mm', sa.Float(), nullable=True),
    sa.Column('right_shank_frontal_tilt_peak_deg', sa.Float(), nullable=True),
    sa.Column('right_knee_abduction_peak_deg', sa.Float(), nullable=True),
    sa.Column('right_hip_adduction_peak_deg', sa.Float(), nullable=True),
    sa.Column('right_hip_int_rotation_peak_deg', sa.Float(), nullable=True),
    sa.Column('right_knee_flexion_peak_deg', sa.Float(), nullable=True),
    sa.Column('right_heel_lift_mm', sa.Float(), nullable=True),
    sa.Column('right_foot_rotation_deg', sa.Float(), nullable=True),
    sa.Column('right_foot_slide_mm', sa.Float(), nullable=True),
    sa.Column('right_reading', sa.String(length=16), nullable=True),
    sa.CheckConstraint("reading IN ('none', 'transient', 'red_flag')", name=op.f('ck_reps_reading')),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_reps_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reps')),
    sa.UniqueConstraint('trial_id', 'rep_index', name=op.f('uq_reps_trial_id_rep_index'))
    )
    op.create_index(op.f('ix_reps_reading'), 'reps', ['reading'], unique=False)
    op.create_table('trajectories',
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('fps', sa.Float(), nullable=False),
    sa.Column('n_frames', sa.Integer(), nullable=False),
    sa.Column('n_landmarks', sa.Integer(), nullable=False),
    sa.Column('landmarks', JSON, nullable=False),
    sa.Column('frame', sa.String(length=32), nullable=False),
    sa.Column('start_time_s', sa.Float(), nullable=False),
    sa.Column('npz', sa.LargeBinary(), nullable=False),
    sa.Column('provenance', JSON, nullable=True),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_trajectories_trial_id_trials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trial_id', name=op.f('pk_trajectories'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('trajectories')
    op.drop_index(op.f('ix_reps_reading'), table_name='reps')
    op.drop_table('reps')
    op.drop_index(op.f('ix_processing_runs_trial_id'), table_name='processing_runs')
    op.drop_table('processing_runs')
    op.drop_table('frame_series')
    op.drop_table('camera_videos')
    op.drop_index(op.f('ix_trials_reading'), table_name='trials')
    op.drop_index(op.f('ix_trials_load_kg'), table_name='trials')
    op.drop_index(op.f('ix_trials_alignment_source'), table_name='trials')
    op.drop_table('trials')
    op.drop_index(op.f('ix_strength_tests_athlete_id_date'), table_name='strength_tests')
    op.drop_table('strength_tests')
    op.drop_table('calibrations')
    op.drop_index(op.f('ix_sessions_date'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_athlete_id_date'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_table('athletes')
