"""The job's private data folder, as AWX and ansible-runner lay it out."""

from ansible_collections.crashdump.windows.plugins.plugin_utils._job_folder import private_folder_of, private_folders


def test_execution_environment_and_runner_artifacts():
    env = {"AWX_ISOLATED_DATA_DIR": "/tmp/awx_42_x/artifacts/42"}
    assert private_folders(env) == ["/runner", "/tmp/awx_42_x"]
    assert private_folder_of("/runner/crash_dumps", {}) == "/runner"
    assert private_folder_of("/tmp/awx_42_x/crash_dumps", env) == "/tmp/awx_42_x"
    assert private_folder_of("/tmp/awx_42_x/../elsewhere", env) is None


def test_persistent_paths_are_not_private():
    assert private_folder_of("/mnt/crash_dumps", {}) is None
    assert private_folder_of("/runnerish/crash_dumps", {}) is None
    # An artifact folder set elsewhere than PRIVATE_DATA_DIR/artifacts: only it is known to be the job's.
    assert private_folders({"AWX_ISOLATED_DATA_DIR": "/var/art/7"}) == ["/runner", "/var/art/7"]
